/**
 * Virtual keys end to end: created, listed, changed and revoked over the admin API (fetch), used through the
 * openai SDK and grpc-js against the echo provider, on a gateway with a real SQLite store.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteStore } from "../../src/governance/sqlite-store.ts";
import type { GovernanceStore } from "../../src/governance/store.ts";
import { grpcChatClient } from "../helpers/grpc-js-client.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const ADMIN = "admin-key-0123456789abcdef";
const FILE_KEY = "file-key-0123456789abcdef";
const CONFIG = `
model_config: {echo-1: echo, echo-2: echo}
proxy: {default_model: echo-1, max_retries: 0}
prices: {echo-1: {input: 2, cached_input: 1, output: 4}}
auth:
  keys: [{name: team-file, key: ${FILE_KEY}, models: ["echo-*"], limits: {rpm: 1000}}]
  admin_keys: [{name: ops, key: ${ADMIN}}]
`;

interface KeyAnswer {
  id: string;
  key?: string;
  name: string;
  source: string;
  key_prefix: string | null;
  models: string[] | null;
  limits: Record<string, unknown> | null;
  created_at: string | null;
  expires_at: string | null;
  revoked: boolean;
}

let store: GovernanceStore;
let server: RunningServer;

beforeAll(async () => {
  store = await openSqliteStore(":memory:");
  server = await startServer(CONFIG, {}, { store });
});
afterAll(async () => {
  await server.close();
  await store.close();
});

async function admin(
  method: string,
  path: string,
  body?: unknown,
  /** null: no key at all. */
  key: string | null = ADMIN,
  target: RunningServer = server,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${target.url}${path}`, {
    method,
    headers: {
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function createKey(body: Record<string, unknown>): Promise<KeyAnswer & { key: string }> {
  const created = await admin("POST", "/admin/keys", body);
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  return created.json as unknown as KeyAnswer & { key: string };
}

function openai(apiKey: string, target: RunningServer = server): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${target.url}/v1`, maxRetries: 0 });
}

async function chat(apiKey: string, model = "echo-1"): Promise<string | null | undefined> {
  const answer = await openai(apiKey).chat.completions.create({
    model,
    messages: [{ role: "user", content: "hello key" }],
  });
  return answer.choices[0]?.message.content;
}

async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: unknown }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  const apiError = error as InstanceType<typeof OpenAI.APIError>;
  return { status: apiError.status ?? 0, code: apiError.code };
}

function grpcChat(apiKey: string): Promise<{ code: grpc.status; content?: string }> {
  const client = grpcChatClient(server.port);
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${apiKey}`);
  return new Promise((resolve) => {
    client.CreateChatCompletion(
      { model: "echo-1", messages: [{ role: "user", content: "over grpc" }] },
      metadata,
      { deadline: Date.now() + 10_000 },
      (error, response) => {
        client.close();
        resolve(
          error === null
            ? { code: grpc.status.OK, content: response?.choices?.[0]?.message?.content }
            : { code: error.code },
        );
      },
    );
  });
}

describe("virtual keys over the admin API", () => {
  it("creates a key shown once, usable through the openai SDK and grpc-js, listed without its secret", async () => {
    const created = await createKey({ name: "team-api", limits: { rpm: 100, budget_usd: 5 } });
    expect(created.key).toMatch(/^sk-llmp-[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({
      name: "team-api",
      source: "api",
      key_prefix: created.key.slice(0, 12),
      models: null,
      limits: { rpm: 100, budget_usd: 5 },
      expires_at: null,
      revoked: false,
    });
    expect(created.id).toMatch(/^key_/);
    expect(Date.parse(created.created_at ?? "")).toBeGreaterThan(Date.now() - 60_000);

    expect(await chat(created.key)).toBe("hello key");
    expect(await grpcChat(created.key)).toEqual({ code: grpc.status.OK, content: "over grpc" });
    // The file's keys keep working beside the store's.
    expect(await chat(FILE_KEY)).toBe("hello key");

    const listed = await admin("GET", "/admin/keys");
    expect(listed.status).toBe(200);
    const text = JSON.stringify(listed.json);
    expect(text).not.toContain(created.key);
    expect(text).not.toContain(created.key.slice(12));
    const data = listed.json.data as KeyAnswer[];
    expect(data.find((key) => key.id === created.id)).not.toHaveProperty("key");
    expect(data.find((key) => key.id === "file:team-file")).toEqual({
      id: "file:team-file",
      name: "team-file",
      source: "file",
      key_prefix: null,
      models: ["echo-*"],
      limits: { rpm: 1000 },
      created_at: null,
      expires_at: null,
      revoked: false,
    });
    expect((await admin("GET", `/admin/keys/${created.id}`)).json).toMatchObject({
      id: created.id,
      revoked: false,
    });
    expect((await admin("GET", "/admin/keys/file:team-file")).json).toMatchObject({ source: "file" });
  });

  it("refuses a wrong key once the store holds an active key, on both protocols", async () => {
    await createKey({ name: "someone" });
    expect(await refusal(chat("sk-llmp-not-a-real-key-000000000000000000000"))).toEqual({
      status: 401,
      code: "invalid_api_key",
    });
    expect((await grpcChat("sk-llmp-not-a-real-key-000000000000000000000")).code).toBe(
      grpc.status.UNAUTHENTICATED,
    );
  });

  it("applies a PATCH of the allowed models on the next request", async () => {
    const created = await createKey({ name: "narrow", models: ["echo-1"] });
    expect(await chat(created.key, "echo-1")).toBe("hello key");
    expect(await refusal(chat(created.key, "echo-2"))).toEqual({ status: 404, code: "model_not_found" });

    const patched = await admin("PATCH", `/admin/keys/${created.id}`, {
      models: ["echo-2"],
      name: "narrow-2",
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ models: ["echo-2"], name: "narrow-2" });
    expect(await chat(created.key, "echo-2")).toBe("hello key");
    expect(await refusal(chat(created.key, "echo-1"))).toEqual({ status: 404, code: "model_not_found" });
    const models = await openai(created.key).models.list();
    expect(models.data.map((model) => model.id)).toEqual(["echo-2"]);

    const cleared = await admin("PATCH", `/admin/keys/${created.id}`, { models: null });
    expect(cleared.json).toMatchObject({ models: null });
    expect(await chat(created.key, "echo-1")).toBe("hello key");
  });

  it("revokes with DELETE: the very next request gets 401 invalid_api_key, on both protocols", async () => {
    const created = await createKey({ name: "short-lived" });
    expect(await chat(created.key)).toBe("hello key");
    const revoked = await admin("DELETE", `/admin/keys/${created.id}`);
    expect(revoked).toMatchObject({ status: 200, json: { id: created.id, revoked: true } });
    expect(await refusal(chat(created.key))).toEqual({ status: 401, code: "invalid_api_key" });
    expect((await grpcChat(created.key)).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await admin("GET", `/admin/keys/${created.id}`)).json).toMatchObject({ revoked: true });
    expect((await admin("DELETE", `/admin/keys/${created.id}`)).json).toMatchObject({ revoked: true });
  });

  it("stops accepting a key at its expires_at", async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const created = await createKey({ name: "expiring", expires_at: expiresAt });
    expect(created.expires_at).toBe(expiresAt);
    expect(await chat(created.key)).toBe("hello key");
    await new Promise((resolve) => setTimeout(resolve, Date.parse(expiresAt) - Date.now() + 50));
    expect(await refusal(chat(created.key))).toEqual({ status: 401, code: "invalid_api_key" });
  });

  it("answers 409 for changing a file key and 404 for an unknown id", async () => {
    for (const method of ["PATCH", "DELETE"]) {
      const answer = await admin(
        method,
        "/admin/keys/file:team-file",
        method === "PATCH" ? { name: "x" } : undefined,
      );
      expect(answer.status, method).toBe(409);
      expect(answer.json.error).toMatchObject({ code: "file_key_readonly", type: "invalid_request_error" });
      expect(String((answer.json.error as { message: string }).message)).toContain("config file");
    }
    for (const [method, path] of [
      ["GET", "/admin/keys/key_nope"],
      ["PATCH", "/admin/keys/key_nope"],
      ["DELETE", "/admin/keys/key_nope"],
      ["GET", "/admin/keys/file:nobody"],
    ] as const) {
      const answer = await admin(method, path, method === "PATCH" ? { name: "x" } : undefined);
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.json.error).toMatchObject({ code: "key_not_found" });
    }
  });
});

describe("admin API input", () => {
  it.each([
    [{ name: "a", owner: "me" }, /Unrecognized key: "owner"/],
    [{ name: "a", limits: { rpm: -1 } }, /limits\.rpm/],
    [{ name: "a", limits: { tpm: 0 } }, /limits\.tpm/],
    [{ name: "a", limits: { budget_usd: 5, budget_period: "yearly" } }, /limits\.budget_period/],
    [{ name: "a", limits: { burst: 3 } }, /Unrecognized key: "burst"/],
    [{ name: "a", expires_at: "next tuesday" }, /expires_at: must be an ISO 8601/],
    [{ name: "a", expires_at: "2001-01-01T00:00:00Z" }, /expires_at: must be in the future/],
    [{ name: "" }, /name: must not be empty/],
    [{ name: "   " }, /name: must not be empty/],
    [{ name: "x".repeat(129) }, /name: Too big/],
    [{ name: "a\u0000b" }, /name: must not contain control characters/],
    [{ name: "a", models: [] }, /models: Too small/],
    [{ name: "a", models: Array.from({ length: 257 }, (_, index) => `m${index}`) }, /models: Too big/],
    [{}, /name: /],
    [[1, 2], /expected object/],
  ])("POST %j is a 400 naming the problem", async (body, message) => {
    const answer = await admin("POST", "/admin/keys", body);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ type: "invalid_request_error", code: "invalid_request" });
    expect((answer.json.error as { message: string }).message).toMatch(message);
  });

  it("answers 400 for a body that is not JSON and for a bad PATCH", async () => {
    expect((await admin("POST", "/admin/keys", "{name:")).status).toBe(400);
    const created = await createKey({ name: "patched" });
    const patch = await admin("PATCH", `/admin/keys/${created.id}`, { revoked: false });
    expect(patch.status).toBe(400);
    expect((patch.json.error as { message: string }).message).toContain('Unrecognized key: "revoked"');
  });
});

describe("who may call /admin", () => {
  it("needs an admin key: none or a client key is 401, even from loopback", async () => {
    const created = await createKey({ name: "not-admin" });
    for (const key of [null, FILE_KEY, created.key]) {
      const answer = await admin("GET", "/admin/keys", undefined, key);
      expect(answer.status).toBe(401);
      expect(answer.json.error).toMatchObject({ code: "invalid_api_key" });
    }
  });

  it("is closed (403 admin_key_required) when no admin keys are configured, and absent without a store", async () => {
    const noAdminStore = await openSqliteStore(":memory:");
    const noAdmin = await startServer("model_config: {echo-1: echo}\n", {}, { store: noAdminStore });
    const noStore = await startServer("model_config: {echo-1: echo}\n");
    try {
      const refused = await admin("POST", "/admin/keys", { name: "x" }, null, noAdmin);
      expect(refused.status).toBe(403);
      expect(refused.json.error).toMatchObject({ code: "admin_key_required" });
      expect((await admin("GET", "/admin/usage", undefined, null, noAdmin)).status).toBe(403);
      // The API stays open: the store holds no key.
      expect((await fetch(`${noAdmin.url}/v1/models`)).status).toBe(200);
      expect((await admin("GET", "/admin/keys", undefined, ADMIN, noStore)).status).toBe(404);
    } finally {
      await Promise.all([noAdmin.close(), noStore.close()]);
      await noAdminStore.close();
    }
  });
});

describe("GET /admin/usage", () => {
  it("groups the spend log by key, model and day, filtered", async () => {
    const row = {
      requestId: "r",
      keyId: "key_usage",
      keyName: "usage-team",
      api: "chat",
      provider: "echo",
      upstreamModel: "echo-1",
      status: "ok",
      inputTokens: 10,
      cachedTokens: 4,
      outputTokens: 3,
      costUsd: 0.1,
      estimated: false,
      latencyMs: 5,
      ttftMs: undefined,
    };
    await store.spend.append([
      { ...row, time: "2026-02-01T10:00:00.000Z", model: "echo-1" },
      { ...row, time: "2026-02-01T11:00:00.000Z", model: "echo-2", costUsd: 0.2 },
      { ...row, time: "2026-02-02T10:00:00.000Z", model: "echo-1", keyId: "key_other", keyName: "other" },
    ]);
    const byKey = await admin("GET", "/admin/usage?group_by=key&from=2026-02-01&to=2026-02-02");
    expect(byKey).toEqual({
      status: 200,
      json: {
        data: [
          {
            key_id: "key_other",
            key_name: "other",
            requests: 1,
            input_tokens: 10,
            cached_tokens: 4,
            output_tokens: 3,
            cost_usd: 0.1,
          },
          {
            key_id: "key_usage",
            key_name: "usage-team",
            requests: 2,
            input_tokens: 20,
            cached_tokens: 8,
            output_tokens: 6,
            cost_usd: 0.3,
          },
        ],
      },
    });
    const byModel = await admin("GET", "/admin/usage?group_by=model&key=usage-team&to=2026-02-28");
    expect(
      (byModel.json.data as { model: string; requests: number }[]).map((r) => [r.model, r.requests]),
    ).toEqual([
      ["echo-1", 1],
      ["echo-2", 1],
    ]);
    const byDay = await admin("GET", "/admin/usage?group_by=day&model=echo-1&from=2026-02-01&to=2026-02-28");
    expect((byDay.json.data as { day: string; requests: number }[]).map((r) => [r.day, r.requests])).toEqual([
      ["2026-02-01", 1],
      ["2026-02-02", 1],
    ]);
  });

  it("reports the requests a key made, tokens and cost as the answers said, once the spend writer wrote them", async () => {
    const created = await createKey({ name: "billed" });
    const answers = [];
    for (const content of ["one", "two two", "three three three"]) {
      answers.push(
        await openai(created.key).chat.completions.create({
          model: "echo-1",
          messages: [{ role: "user", content }],
        }),
      );
    }
    const input = answers.reduce((sum, answer) => sum + (answer.usage?.prompt_tokens ?? 0), 0);
    const output = answers.reduce((sum, answer) => sum + (answer.usage?.completion_tokens ?? 0), 0);
    expect(input).toBeGreaterThan(0);
    const report = async () => (await admin("GET", `/admin/usage?key=${created.id}&group_by=key`)).json.data;
    await expect
      .poll(async () => ((await report()) as { requests: number }[])[0]?.requests, {
        timeout: 5000,
        interval: 100,
      })
      .toBe(3);
    const [row] = (await report()) as Record<string, unknown>[];
    expect(row).toMatchObject({
      key_id: created.id,
      key_name: "billed",
      input_tokens: input,
      cached_tokens: 0,
      output_tokens: output,
    });
    expect(row?.cost_usd).toBeCloseTo((input * 2 + output * 4) / 1e6, 9);
  });

  it.each([
    ["group_by=week", /group_by/],
    ["from=yesterday", /from: must be an ISO 8601/],
    ["to=2026-13-01", /to: must be an ISO 8601/],
    ["team=a", /Unrecognized key: "team"/],
    ["from=2026-03-02&to=2026-03-01", /'from' must be before 'to'/],
  ])("answers 400 for ?%s", async (query, message) => {
    const answer = await admin("GET", `/admin/usage?${query}`);
    expect(answer.status).toBe(400);
    expect((answer.json.error as { message: string }).message).toMatch(message);
  });
});

describe("a restart on the same store file", () => {
  it("keeps a created key working and a revoked key refused", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "llmp-keys-")), "gw.db");
    const config = `model_config: {echo-1: echo}\nauth: {admin_keys: [{name: ops, key: ${ADMIN}}]}\n`;
    const firstStore = await openSqliteStore(path);
    const first = await startServer(config, {}, { store: firstStore });
    const kept = await admin("POST", "/admin/keys", { name: "kept" }, ADMIN, first);
    const gone = await admin("POST", "/admin/keys", { name: "gone" }, ADMIN, first);
    await admin("DELETE", `/admin/keys/${gone.json.id}`, undefined, ADMIN, first);
    await first.close();
    await firstStore.close();

    const secondStore = await openSqliteStore(path);
    const second = await startServer(config, {}, { store: secondStore });
    try {
      const ask = (key: unknown) =>
        openai(String(key), second).chat.completions.create({
          messages: [{ role: "user", content: "again" }],
          model: "echo-1",
        });
      expect((await ask(kept.json.key)).choices[0]?.message.content).toBe("again");
      expect(await refusal(ask(gone.json.key))).toEqual({ status: 401, code: "invalid_api_key" });
    } finally {
      await second.close();
      await secondStore.close();
    }
  });
});
