/**
 * Three gateway processes on one fresh PostgreSQL database and no Redis: each replica's key cache polls the
 * store's key version, so a key made on one replica works on the others, and a key revoked on one is refused by
 * all three within a second, without any fan-out.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killGatewayProcesses, writeTempConfig } from "../helpers/gateway-process.ts";
import { createScratchDatabase, type ScratchDatabase } from "../helpers/private-postgres.ts";
import { startReplicas, untilAllReplicas } from "../helpers/replicas.ts";

const ADMIN = "admin-key-pg-only-0123456789";
const FILE_KEY = "file-key-pg-only-0123456789";

let database: ScratchDatabase;
let ports: number[] = [];

beforeAll(async () => {
  database = await createScratchDatabase();
  const config = writeTempConfig(`
model_config: {echo-1: echo}
proxy: {default_model: echo-1, max_retries: 0}
server: {watch_config: false}
store: {postgres_url: "${database.url}"}
auth:
  keys: [{name: team-file, key: ${FILE_KEY}}]
  admin_keys: [{name: ops, key: ${ADMIN}}]
`);
  ports = await startReplicas(config, 3);
}, 60_000);

afterAll(async () => {
  killGatewayProcesses();
  await database?.drop();
});

async function status(replica: number, apiKey: string): Promise<number> {
  const client = new OpenAI({ apiKey, baseURL: `http://127.0.0.1:${ports[replica]}/v1`, maxRetries: 0 });
  return client.chat.completions
    .create({ model: "echo-1", messages: [{ role: "user", content: "hi" }] })
    .then(
      () => 200,
      (error: unknown) => (error instanceof OpenAI.APIError ? (error.status ?? 0) : -1),
    );
}

/** Polls the three replicas until each answers `expected` for `apiKey`; when the round that found it began. */
function untilAll(apiKey: string, expected: number, timeoutMs: number): Promise<number> {
  return untilAllReplicas(
    3,
    async (replica) => ({ status: await status(replica, apiKey) }),
    expected,
    timeoutMs,
  );
}

describe("three replicas on one PostgreSQL, without Redis", () => {
  it("a key made on replica 3 works on all three within a second; revoked on replica 2, all three refuse it within a second", async () => {
    const created = await fetch(`http://127.0.0.1:${ports[2]}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "polled" }),
    });
    expect(created.status).toBe(201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    expect(await untilAll(key, 200, 1_000)).toBeLessThan(1_000);
    const revoked = await fetch(`http://127.0.0.1:${ports[1]}/admin/keys/${id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(revoked.status).toBe(200);
    expect(await untilAll(key, 401, 1_000)).toBeLessThan(1_000);
    expect(await status(0, FILE_KEY)).toBe(200);
  });
});
