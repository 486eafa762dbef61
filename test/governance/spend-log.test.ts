/**
 * The spend log end to end, on a SQLite file: requests through the openai SDK (whole answers, a stream that did
 * not ask for usage, an abandoned stream, embeddings) become one row each with the tokens and cost the access
 * lines show, the abandoned one estimated; GET /admin/usage sums them by key and by model; the rows are still
 * there after the gateway and its store are closed and the file is opened again.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteStore } from "../../src/governance/sqlite-store.ts";
import type { GovernanceStore } from "../../src/governance/store.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const ADMIN = "spend-admin-key-0123456789";
const CLIENT = "spend-client-key-0123456789";
const CONFIG = `
model_config: {echo-1: echo, slow: slow-echo}
providers:
  slow-echo: {type: echo, token_delay_ms: 50}
prices:
  echo-1: {input: 2, output: 4}
  slow: {input: 2, output: 4}
auth:
  keys: [{name: team-a, key: ${CLIENT}}]
  admin_keys: [{name: ops, key: ${ADMIN}}]
`;

let folder: string;
let store: GovernanceStore;
let server: RunningServer;
let openai: OpenAI;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), "spend-log-"));
  store = await openSqliteStore(join(folder, "spend.db"));
  server = await startServer(CONFIG, {}, { store });
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: CLIENT, maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
  await store?.close();
  rmSync(folder, { recursive: true, force: true });
});

function cost(input: number, output: number): number {
  return (input * 2 + output * 4) / 1e6;
}

async function usage(query: string): Promise<Record<string, unknown>[]> {
  const response = await fetch(`${server.url}/admin/usage?${query}`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: Record<string, unknown>[] }).data;
}

function accessLine(requestId: string | null): Record<string, unknown> | undefined {
  return server.logs.find((line) => line.requestId === requestId && line.msg === "request completed");
}

describe("spend log", () => {
  it("one row per request with the access line's tokens and cost, summed by GET /admin/usage", async () => {
    const ids: (string | null)[] = [];
    for (let n = 0; n < 2; n++) {
      const { response } = await openai.chat.completions
        .create({ model: "echo-1", messages: [{ role: "user", content: "one two three" }] })
        .withResponse();
      ids.push(response.headers.get("x-request-id"));
    }
    const streamed = await openai.chat.completions
      .create({ model: "echo-1", stream: true, messages: [{ role: "user", content: "four five" }] })
      .withResponse();
    for await (const chunk of streamed.data) expect(chunk.usage ?? undefined).toBeUndefined();
    ids.push(streamed.response.headers.get("x-request-id"));

    const words = Array.from({ length: 30 }, (_, index) => `word${index}`).join(" ");
    const abandoned = await openai.chat.completions
      .create({ model: "slow", stream: true, messages: [{ role: "user", content: words }] })
      .withResponse();
    let pieces = 0;
    for await (const chunk of abandoned.data) {
      if (chunk.choices[0]?.delta.content) pieces += 1;
      if (pieces === 2) {
        abandoned.data.controller.abort();
        break;
      }
    }
    ids.push(abandoned.response.headers.get("x-request-id"));
    const embedded = await openai.embeddings.create({ model: "echo-1", input: "six seven" }).withResponse();
    ids.push(embedded.response.headers.get("x-request-id"));

    await expect.poll(async () => (await usage("group_by=key"))[0]?.requests, { timeout: 5000 }).toBe(5);
    const lines = ids.map((id) => accessLine(id));
    const sum = (field: string) => lines.reduce((total, line) => total + Number(line?.[field] ?? 0), 0);
    expect(lines.every((line) => line !== undefined)).toBe(true);
    const [byKey] = await usage("group_by=key");
    expect(byKey).toEqual({
      key_id: "file:team-a",
      key_name: "team-a",
      requests: 5,
      input_tokens: sum("inputTokens"),
      cached_tokens: 0,
      output_tokens: sum("outputTokens"),
      cost_usd: expect.closeTo(sum("costUsd"), 12),
    });
    // The whole answers: 3 + 3 tokens each; the stream: 2 + 2; the embeddings: 2 input tokens.
    expect(lines.slice(0, 3).map((line) => line?.costUsd)).toEqual([cost(3, 3), cost(3, 3), cost(2, 2)]);
    expect(lines[4]?.costUsd).toBe(cost(2, 0));

    const byModel = await usage("group_by=model");
    expect(byModel.map((row) => [row.model, row.requests])).toEqual(
      expect.arrayContaining([
        ["echo-1", 4],
        ["slow", 1],
      ]),
    );
  });

  it("the abandoned stream's row is estimated, with tokens, and no row holds content", () => {
    const database = new DatabaseSync(join(folder, "spend.db"), { readOnly: true });
    try {
      const rows = database.prepare("SELECT * FROM spend_log ORDER BY time").all();
      expect(rows).toHaveLength(5);
      const estimated = rows.filter((row) => row.estimated === 1);
      expect(estimated).toHaveLength(1);
      expect(estimated[0]).toMatchObject({ model: "slow", status: "cancelled", api: "chat" });
      expect(Number(estimated[0]?.input_tokens)).toBeGreaterThan(30);
      expect(Number(estimated[0]?.output_tokens)).toBeGreaterThan(0);
      expect(Number(estimated[0]?.cost_usd)).toBeGreaterThan(0);
      expect(Number(estimated[0]?.ttft_ms)).toBeGreaterThanOrEqual(0);
      expect(JSON.stringify(rows)).not.toMatch(/word1|one two|four|six/);
    } finally {
      database.close();
    }
  });

  it("survives a restart: the file opened again reports the same usage", async () => {
    const before = await usage("group_by=model");
    await server.close();
    await store.close();
    store = await openSqliteStore(join(folder, "spend.db"));
    server = await startServer(CONFIG, {}, { store });
    expect(await usage("group_by=model")).toEqual(before);
  });
});
