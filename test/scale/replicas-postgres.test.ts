/**
 * Three gateway processes (the real entry) on the shared Redis and one fresh PostgreSQL database, driven with the
 * openai SDK and the admin API: a virtual key made on one replica works on all three; its budget, spent by one
 * request on replica 1, refuses the next request on replica 2; revoked on replica 1, it is refused by all three
 * within a second. Each run has its own database (dropped after) and its own keys (their Redis keys deleted after).
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killGatewayProcesses, writeTempConfig } from "../helpers/gateway-process.ts";
import { createScratchDatabase, queryRows, type ScratchDatabase } from "../helpers/private-postgres.ts";
import { deleteKeys, SHARED_REDIS_URL } from "../helpers/redis-server.ts";
import { startReplicas, untilAllReplicas } from "../helpers/replicas.ts";

const ADMIN = "admin-key-replicas-0123456789";
const FILE_KEY = "file-key-replicas-0123456789";

let database: ScratchDatabase;
let ports: number[] = [];
const createdKeyIds: string[] = [];

beforeAll(async () => {
  database = await createScratchDatabase();
  const config = writeTempConfig(`
model_config: {echo-1: echo}
proxy: {default_model: echo-1, max_retries: 0}
server: {watch_config: false}
prices: {echo-1: {input: 1000, output: 1000}}
store: {redis_url: "${SHARED_REDIS_URL}", postgres_url: "${database.url}"}
auth:
  keys: [{name: team-file, key: ${FILE_KEY}}]
  admin_keys: [{name: ops, key: ${ADMIN}}]
`);
  ports = await startReplicas(config, 3);
}, 60_000);

afterAll(async () => {
  killGatewayProcesses();
  for (const id of createdKeyIds) await deleteKeys(SHARED_REDIS_URL, `llm-proxy:{${id}}`);
  await database?.drop();
});

function url(replica: number): string {
  return `http://127.0.0.1:${ports[replica]}`;
}

async function adminCall(replica: number, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${url(replica)}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function createKey(
  replica: number,
  body: Record<string, unknown>,
): Promise<{ id: string; key: string }> {
  const response = await adminCall(replica, "POST", "/admin/keys", body);
  expect(response.status).toBe(201);
  const created = (await response.json()) as { id: string; key: string };
  createdKeyIds.push(created.id);
  return created;
}

/** One chat call; its status and, when answered, the cost the gateway reported. */
async function chat(
  replica: number,
  apiKey: string,
): Promise<{ status: number; code?: string; cost?: number }> {
  const client = new OpenAI({ apiKey, baseURL: `${url(replica)}/v1`, maxRetries: 0, timeout: 10_000 });
  try {
    const { response } = await client.chat.completions
      .create({ model: "echo-1", messages: [{ role: "user", content: "one two three" }] })
      .withResponse();
    return { status: 200, cost: Number(response.headers.get("x-llm-proxy-cost-usd")) };
  } catch (error) {
    if (!(error instanceof OpenAI.APIError)) throw error;
    return { status: error.status ?? 0, code: String(error.code) };
  }
}

/** Polls the three replicas until each answers `status` for `apiKey`; when the round that found it began. */
function untilAll(apiKey: string, status: number, timeoutMs: number): Promise<number> {
  return untilAllReplicas(3, (replica) => chat(replica, apiKey), status, timeoutMs);
}

describe("three replicas on one Redis and one PostgreSQL", () => {
  it("a budget spent by one request on replica 1 refuses the next request on replica 2", async () => {
    // What one request costs, measured on a key without limits.
    const probe = await chat(0, FILE_KEY);
    expect(probe.status).toBe(200);
    const oneRequest = probe.cost ?? 0;
    expect(oneRequest).toBeGreaterThan(0);
    // Below one request's cost: the first is admitted (nothing spent yet) and spends past it.
    const { key } = await createKey(0, {
      name: "budgeted",
      limits: { budget_usd: oneRequest / 2, budget_period: "daily" },
    });
    // Every replica sees a new key within a second (without spending any of its budget to find out).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const first = await chat(0, key);
    expect(first.status).toBe(200);
    // The spend is settled on Redis just after the answer; replica 2 has seen nothing of it locally.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await chat(1, key)).toMatchObject({ status: 429, code: "budget_exceeded" });
    expect(await chat(2, key)).toMatchObject({ status: 429, code: "budget_exceeded" });
  });

  it("a key made on replica 1 works on all three, and revoked on replica 1 is refused by all three within a second", async () => {
    const { id, key } = await createKey(0, { name: "revoked-soon" });
    await untilAll(key, 200, 2_000);
    const revoked = await adminCall(0, "DELETE", `/admin/keys/${id}`);
    expect(revoked.status).toBe(200);
    const took = await untilAll(key, 401, 1_000);
    expect(took).toBeLessThan(1_000);
    // The one truth is PostgreSQL's: the key is there, revoked.
    expect(await queryRows(database.url, `SELECT revoked_at FROM api_keys WHERE id = '${id}'`)).toEqual([
      { revoked_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) },
    ]);
  });
});
