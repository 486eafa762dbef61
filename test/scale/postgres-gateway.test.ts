/**
 * A gateway process (the real entry) on a PostgreSQL of the test's own, stopped while it serves: requests keep
 * succeeding (a virtual key made before the outage is served from the key cache; spend rows wait in the writer),
 * `/ready` stays 200 but degraded, `llm_proxy_store_up{store="postgres"}` says 0 and the admin API answers 503
 * `store_unavailable`; once PostgreSQL is back the rows of the outage arrive. A PostgreSQL that is down when the
 * gateway starts stops the start with a clear error.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GatewayChild,
  killGatewayProcesses,
  runGatewayToExit,
  startGatewayProcess,
  writeTempConfig,
} from "../helpers/gateway-process.ts";
import { type PrivatePostgres, queryRows, startPrivatePostgres } from "../helpers/private-postgres.ts";

const ADMIN = "admin-key-pg-fault-0123456789";
const FILE_KEY = "file-key-pg-fault-0123456789";

let server: PrivatePostgres;
let gateway: GatewayChild & { readonly port: number };

beforeAll(async () => {
  server = await startPrivatePostgres();
  const config = writeTempConfig(`
model_config: {echo-1: echo}
proxy: {default_model: echo-1, max_retries: 0}
server: {watch_config: false}
store: {postgres_url: "${server.url}"}
auth:
  keys: [{name: team-file, key: ${FILE_KEY}}]
  admin_keys: [{name: ops, key: ${ADMIN}}]
`);
  gateway = await startGatewayProcess(["--config", config, "--log-level", "info"]);
}, 60_000);

afterAll(async () => {
  killGatewayProcesses();
  await server?.destroy();
});

function baseUrl(): string {
  return `http://127.0.0.1:${gateway.port}`;
}

async function chat(apiKey: string): Promise<number> {
  const client = new OpenAI({ apiKey, baseURL: `${baseUrl()}/v1`, maxRetries: 0, timeout: 10_000 });
  return client.chat.completions
    .create({ model: "echo-1", messages: [{ role: "user", content: "hi" }] })
    .then(
      () => 200,
      (error: unknown) => (error instanceof OpenAI.APIError ? (error.status ?? 0) : -1),
    );
}

async function spendRows(): Promise<number> {
  const [row] = await queryRows(server.url, "SELECT count(*) AS rows FROM spend_log");
  return Number(row?.rows);
}

async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || performance.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function readiness(): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl()}/ready`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function postgresUpGauge(): Promise<string | undefined> {
  const metrics = await fetch(`${baseUrl()}/metrics`, { headers: { authorization: `Bearer ${FILE_KEY}` } });
  const text = await metrics.text();
  return /^llm_proxy_store_up\{store="postgres"\} (\d)/m.exec(text)?.[1];
}

describe("PostgreSQL stopped under a serving gateway", () => {
  it("keeps serving from the key cache and the writer's queue, reports it, and writes the rows once it is back", async () => {
    const created = await fetch(`${baseUrl()}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "virtual" }),
    });
    expect(created.status).toBe(201);
    const virtualKey = ((await created.json()) as { key: string }).key;

    expect(await Promise.all([chat(virtualKey), chat(FILE_KEY)])).toEqual([200, 200]);
    expect(await eventually(spendRows, (rows) => rows === 2)).toBe(2);
    expect(await postgresUpGauge()).toBe("1");

    await server.stop();
    const started = performance.now();
    const during = await Promise.all([
      ...Array.from({ length: 4 }, () => chat(virtualKey)),
      ...Array.from({ length: 4 }, () => chat(FILE_KEY)),
    ]);
    expect(during).toEqual(Array(8).fill(200));
    // Nothing on the request path waits on PostgreSQL or retries it (generous for a loaded machine).
    expect(performance.now() - started).toBeLessThan(5_000);
    const down = await eventually(readiness, (ready) => ready.body.degraded === true, 5_000);
    expect(down).toEqual({
      status: 200,
      body: { status: "ready", stores: { postgres: "down" }, degraded: true },
    });
    expect(await postgresUpGauge()).toBe("0");
    // The admin API cannot write or read keys meanwhile: 503 store_unavailable, retry shortly.
    const refused = await fetch(`${baseUrl()}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "during-outage" }),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toMatchObject({ error: { code: "store_unavailable" } });

    await server.start();
    // The writer retries every second; the key cache's poll brings the health back.
    expect(await eventually(spendRows, (rows) => rows === 10)).toBe(10);
    const up = await eventually(readiness, (ready) => ready.body.degraded === undefined, 5_000);
    expect(up).toEqual({ status: 200, body: { status: "ready", stores: { postgres: "up" } } });
    expect(await chat(virtualKey)).toBe(200);
  });
});

describe("PostgreSQL down when the gateway starts", () => {
  it("stops the start with an error naming the server, never its password", async () => {
    const config = writeTempConfig(`
model_config: {echo-1: echo}
server: {watch_config: false}
store: {postgres_url: "postgres://llm:secret-pw@127.0.0.1:1/llm"}
`);
    const ended = await runGatewayToExit(["--config", config, "--host", "127.0.0.1", "--port", "0"]);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toMatch(
      /^llm-proxy: store PostgreSQL at 127\.0\.0\.1:1\/llm: unavailable or unusable \(.*ECONNREFUSED/m,
    );
    expect(ended.stderr + ended.stdout).not.toContain("secret-pw");
  });
});
