/**
 * Three gateway processes on one fresh PostgreSQL database and no Redis: each replica's key cache polls the
 * store's key version, so a key made on one replica works on the others, and a key revoked on one is refused by
 * all three within a second, without any fan-out.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killGatewayProcesses, startGatewayProcess, writeTempConfig } from "../helpers/gateway-process.ts";
import { createScratchDatabase, type ScratchDatabase } from "../helpers/private-postgres.ts";

const ADMIN = "admin-key-pg-only-0123456789";
const FILE_KEY = "file-key-pg-only-0123456789";

let database: ScratchDatabase;
const ports: number[] = [];

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
  // One after another: three starting at once on a busy two-core machine can miss the start timeout (migrations
  // meeting on an empty database are test/scale/postgres-store.test.ts's).
  for (let replica = 0; replica < 3; replica++)
    ports.push((await startGatewayProcess(["--config", config])).port);
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

/**
 * Polls until every replica answers `expected` for `apiKey`. Resolves with when, after the call, the first round
 * that found all three so began: its requests were sent then, so it leaves out how long a loaded machine takes to
 * answer them. Throws when no round began within `timeoutMs` that did.
 */
async function untilAll(apiKey: string, expected: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const roundStart = performance.now() - started;
    const answers = await Promise.all([0, 1, 2].map((replica) => status(replica, apiKey)));
    if (answers.every((answer) => answer === expected)) return roundStart;
    if (performance.now() - started > timeoutMs) {
      throw new Error(`not all ${expected} after ${timeoutMs} ms: ${JSON.stringify(answers)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
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
