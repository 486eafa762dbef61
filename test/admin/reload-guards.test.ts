/**
 * Reloads that would open the gateway by accident: an emptied file, a file cut short before its `auth:` section,
 * and a file the watch sees half written. Each is refused (or waited out) while the old config keeps serving, so
 * a keyed gateway keeps asking for its key; `auth: {open: true}` is the one way to drop the keys on purpose.
 * Driven through real sockets: POST /config/reload, and the file watch in process and in `node src/main.ts`.
 */
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { killGatewayProcesses, startGatewayProcess, writeTempConfig } from "../helpers/gateway-process.ts";
import { type FileServer, startFileServer } from "./file-server.ts";

const CLIENT_KEY = "client-key-reload-guard-0001";
const ADMIN_KEY = "admin-key-reload-guard-00001";
const MODELS = "model_config:\n  echo-1: echo\n  echo-2: echo\n";
const AUTH = `auth:\n  keys: [{name: team, key: ${CLIENT_KEY}}]\n  admin_keys: [{name: ops, key: ${ADMIN_KEY}}]\n`;
/** Models first, auth last: a copy cut short loses the auth section and nothing else. */
const KEYED = `${MODELS}${AUTH}`;

const servers: FileServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  killGatewayProcesses();
});

async function start(yaml: string, options: Parameters<typeof startFileServer>[1] = {}): Promise<FileServer> {
  const server = await startFileServer(yaml, options);
  servers.push(server);
  return server;
}

async function reload(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await request(`${url}/config/reload`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

/** The status of GET /v1/models with the client key, or with none. */
async function modelsStatus(url: string, key?: string): Promise<number> {
  const headers = key === undefined ? {} : { authorization: `Bearer ${key}` };
  const response = await request(`${url}/v1/models`, { headers });
  await response.body.dump();
  return response.statusCode;
}

async function expectKeyStillRequired(url: string): Promise<void> {
  expect(await modelsStatus(url)).toBe(401);
  expect(await modelsStatus(url, CLIENT_KEY)).toBe(200);
}

function issuePaths(body: Record<string, unknown>): string[] {
  return (body.issues as { path: string }[]).map((issue) => issue.path);
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}

describe("POST /config/reload refuses a file that would open the gateway", () => {
  it("refuses an empty file, naming the problem, and keeps requiring the key", async () => {
    const server = await start(KEYED);
    for (const empty of ["", "\n", "# emptied\n"]) {
      server.write(empty);
      const outcome = await reload(server.url);
      expect(outcome.status).toBe(400);
      expect(outcome.body).toMatchObject({ status: "rejected", error: { code: "invalid_config" } });
      expect(String(outcome.body.message)).toMatch(
        /still serving the previous one: \(file\): the file is empty/,
      );
      await expectKeyStillRequired(server.url);
    }
  });

  it("refuses a file with no models", async () => {
    const server = await start(KEYED);
    server.write(`model_config: {}\n${AUTH}`);
    const outcome = await reload(server.url);
    expect(outcome.status).toBe(400);
    expect(issuePaths(outcome.body)).toEqual(["model_config"]);
    expect(String(outcome.body.message)).toMatch(/model_config: no models/);
    expect(await modelsStatus(server.url, CLIENT_KEY)).toBe(200);
  });

  it("refuses a file cut short before its auth section, and one that lost only its admin keys", async () => {
    const server = await start(KEYED);
    server.write(MODELS);
    const cut = await reload(server.url);
    expect(cut.status).toBe(400);
    expect(issuePaths(cut.body)).toEqual(["auth.keys", "auth.admin_keys"]);
    expect(String(cut.body.message)).toMatch(/served without a key .*auth: \{open: true\}/);
    await expectKeyStillRequired(server.url);

    server.write(`${MODELS}auth:\n  keys: [{name: team, key: ${CLIENT_KEY}}]\n`);
    const adminCut = await reload(server.url);
    expect(adminCut.status).toBe(400);
    expect(issuePaths(adminCut.body)).toEqual(["auth.admin_keys"]);
    // Still the old admin keys: a loopback client without one is refused.
    expect((await request(`${server.url}/config`)).statusCode).toBe(401);
    expect(server.logs.filter((line) => line.msg === "config reload rejected")).toHaveLength(2);
  });

  it("drops the keys when the new file says so with auth: {open: true}", async () => {
    const server = await start(KEYED);
    server.write(`${MODELS}auth: {open: true}\n`);
    const outcome = await reload(server.url);
    expect(outcome.status).toBe(200);
    expect(await modelsStatus(server.url)).toBe(200);
  });

  it("refuses auth: {open: true} beside client keys", async () => {
    const server = await start(KEYED);
    server.write(`${MODELS}auth:\n  open: true\n  keys: [{name: team, key: ${CLIENT_KEY}}]\n`);
    const outcome = await reload(server.url);
    expect(outcome.status).toBe(400);
    expect(issuePaths(outcome.body)).toEqual(["auth.open"]);
    await expectKeyStillRequired(server.url);
  });
});

describe("the config file watch", () => {
  it("logs the refusal of a file cut short before its auth section, and keeps requiring the key", async () => {
    const server = await start(KEYED, { watchDebounceMs: 30, watchSettleMs: 100 });
    server.write(MODELS);
    await until(() => server.logs.some((line) => line.msg === "config reload rejected"));
    const rejected = server.logs.find((line) => line.msg === "config reload rejected");
    expect(rejected?.level).toBe(40);
    expect(rejected?.reload).toMatchObject({ trigger: "watch", status: "rejected" });
    expect(JSON.stringify(rejected?.reload)).toMatch(/auth\.keys/);
    await expectKeyStillRequired(server.url);
  });

  it("never acts on a file written in two slow halves, and reloads the whole file once it settles", async () => {
    const server = await start(KEYED, { watchDebounceMs: 30, watchSettleMs: 1_000 });
    // The new file adds a model and keeps the keys; its first half alone lists one model and has no auth.
    const next = `model_config:\n  echo-1: echo\n  echo-2: echo\n  echo-3: echo\n${AUTH}`;
    const half = next.indexOf("  echo-2");
    const seen: number[] = [];
    const fd = openSync(server.path, "w");
    try {
      writeSync(fd, next.slice(0, half));
      // Longer than the debounce, shorter than the settle time: the watch sees the first half on its own.
      for (let elapsed = 0; elapsed < 200; elapsed += 25) {
        seen.push(await modelsStatus(server.url));
        await sleep(25);
      }
      writeSync(fd, next.slice(half));
    } finally {
      closeSync(fd);
    }
    await until(() => server.logs.some((line) => line.msg === "config reloaded"));
    const outcomes = server.logs
      .filter((line) => String(line.msg).startsWith("config reload"))
      .map((line) => line.reload as { status: string; models?: number });
    expect(outcomes).toEqual([expect.objectContaining({ status: "reloaded", models: 3 })]);
    expect(seen.every((status) => status === 401)).toBe(true);
    await expectKeyStillRequired(server.url);
  });
});

describe("node src/main.ts", () => {
  it("refuses, through its file watch, a config cut short before its auth section", async () => {
    const path = writeTempConfig(KEYED);
    const gateway = await startGatewayProcess(["--config", path, "--log-level", "info"]);
    const url = `http://127.0.0.1:${gateway.port}`;
    await expectKeyStillRequired(url);
    writeFileSync(path, MODELS);
    await until(() => gateway.lines.some((line) => line.includes("config reload rejected")));
    const line = gateway.lines.find((text) => text.includes("config reload rejected")) ?? "";
    expect(JSON.parse(line)).toMatchObject({ level: 40, reload: { trigger: "watch", status: "rejected" } });
    expect(line).toMatch(/auth\.keys/);
    expect(line).not.toContain(CLIENT_KEY);
    await expectKeyStillRequired(url);
  });
});
