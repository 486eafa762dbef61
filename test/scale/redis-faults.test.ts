/**
 * Redis faults, on a private redis-server this file starts, stops and restarts (empty): two gateway processes,
 * one with `store.fail_mode: open` and one with `closed`. Open keeps serving through the outage and says so
 * (/ready degraded, llm_proxy_store_up 0, one warning); closed answers 503 store_unavailable and is not ready;
 * both go back to Redis when it returns. A frozen Redis costs one request at most the 1 s command timeout. And a
 * budget that Redis lost in a restart is reseeded from the spend log.
 */

import { Redis } from "ioredis";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LimitedKey } from "../../src/governance/counters.ts";
import { createRedisCounters } from "../../src/governance/redis-counters.ts";
import { redisClientOptions } from "../../src/governance/redis-link.ts";
import {
  type GatewayChild,
  killGatewayProcesses,
  startGatewayProcess,
  writeTempConfig,
} from "../helpers/gateway-process.ts";
import { killPrivateRedis, type PrivateRedis, privateRedis } from "../helpers/redis-server.ts";

const LIMITED = "sk-scale-fault-limited-1";
let redis: PrivateRedis;
let open: GatewayChild & { port: number };
let closed: GatewayChild & { port: number };

function config(failMode: "open" | "closed"): string {
  return writeTempConfig(`
model_config: {echo-1: echo}
server: {watch_config: false}
store: {path: ":memory:", redis_url: "${redis.url}", fail_mode: ${failMode}}
auth:
  keys:
    - {name: limited, key: ${LIMITED}, limits: {rpm: 100000}}
`);
}

beforeAll(async () => {
  redis = await privateRedis();
  open = await startGatewayProcess(["--config", config("open")]);
  closed = await startGatewayProcess(["--config", config("closed")]);
});

afterAll(() => {
  killGatewayProcesses();
  killPrivateRedis();
});

async function chat(port: number): Promise<number | string> {
  const client = new OpenAI({ apiKey: LIMITED, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  try {
    await client.chat.completions.create({ model: "echo-1", messages: [{ role: "user", content: "hi" }] });
    return 200;
  } catch (error) {
    if (error instanceof OpenAI.APIError) return `${error.status} ${error.code}`;
    throw error;
  }
}

async function ready(port: number): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${port}/ready`);
  return { status: response.status, body: await response.json() };
}

async function storeUp(port: number, key = LIMITED): Promise<string | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const text = await response.text();
  return /^llm_proxy_store_up\{store="redis"\} (\d)$/m.exec(text)?.[1];
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error("condition never held");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function warnings(gateway: GatewayChild): string[] {
  return gateway.lines.filter((line) => line.includes("Redis is unreachable"));
}

describe("Redis stopped mid-load, then back empty", () => {
  it("open keeps serving and reports it; closed answers 503; both return to Redis", async () => {
    expect(await chat(open.port)).toBe(200);
    expect(await chat(closed.port)).toBe(200);
    expect(await ready(open.port)).toEqual({
      status: 200,
      body: { status: "ready", stores: { redis: "up" } },
    });
    expect(await storeUp(open.port)).toBe("1");

    // Load on the open replica while Redis dies under it: no request fails or hangs.
    const load = Promise.all(
      Array.from({ length: 40 }, (_, index) => delay(index * 10).then(() => chat(open.port))),
    );
    await delay(100);
    await redis.stop();
    const started = performance.now();
    expect(new Set(await load)).toEqual(new Set([200]));
    expect(performance.now() - started).toBeLessThan(5000);

    await eventually(async () => (await storeUp(open.port)) === "0");
    for (let index = 0; index < 20; index++) expect(await chat(open.port)).toBe(200);
    expect(await ready(open.port)).toEqual({
      status: 200,
      body: { status: "ready", stores: { redis: "down" }, degraded: true },
    });
    // Many requests during the outage, one warning (at most one per 10 s).
    expect(warnings(open)).toHaveLength(1);
    expect(warnings(open)[0]).toContain('"failMode":"open"');

    expect(await chat(closed.port)).toBe("503 store_unavailable");
    expect(await ready(closed.port)).toEqual({
      status: 503,
      body: { status: "store_unavailable", stores: { redis: "down" } },
    });
    expect(await storeUp(closed.port)).toBe("0");

    await redis.start();
    await eventually(async () => (await storeUp(open.port)) === "1" && (await storeUp(closed.port)) === "1");
    expect(await chat(closed.port)).toBe(200);
    expect(await ready(closed.port)).toEqual({
      status: 200,
      body: { status: "ready", stores: { redis: "up" } },
    });
    expect(await ready(open.port)).toEqual({
      status: 200,
      body: { status: "ready", stores: { redis: "up" } },
    });
    expect(open.lines.some((line) => line.includes("Redis is back"))).toBe(true);
  });

  it("a frozen Redis (open connections, no answers) costs one request at most a second, then none", async () => {
    await eventually(async () => (await storeUp(open.port)) === "1");
    expect(await chat(open.port)).toBe(200);
    redis.freeze();
    try {
      let started = performance.now();
      expect(await chat(open.port)).toBe(200);
      // The command timeout (1 s) is the most a request waits on a Redis that does not answer.
      expect(performance.now() - started).toBeLessThan(2500);
      started = performance.now();
      expect(await chat(open.port)).toBe(200);
      expect(performance.now() - started).toBeLessThan(500);
      expect(await storeUp(open.port)).toBe("0");
    } finally {
      redis.thaw();
    }
    await eventually(async () => (await storeUp(open.port)) === "1");
    expect(await chat(open.port)).toBe(200);
  });

  it("a gateway whose Redis restarted empty still refuses a spent budget (reseeded from its spend log)", async () => {
    const budgeted = "sk-scale-fault-budgeted-1";
    const gateway = await startGatewayProcess([
      "--config",
      writeTempConfig(`
model_config: {echo-1: echo}
prices: {echo-1: {input: 1000, output: 1000}}
server: {watch_config: false}
store: {path: ":memory:", redis_url: "${redis.url}"}
auth:
  keys: [{name: budgeted, key: ${budgeted}, limits: {budget_usd: 0.001, budget_period: daily}}]
`),
    ]);
    const client = new OpenAI({
      apiKey: budgeted,
      baseURL: `http://127.0.0.1:${gateway.port}/v1`,
      maxRetries: 0,
    });
    const ask = () =>
      client.chat.completions
        .create({ model: "echo-1", messages: [{ role: "user", content: "spend it" }] })
        .then(
          () => "200",
          (error: unknown) =>
            error instanceof OpenAI.APIError ? `${error.status} ${error.code}` : String(error),
        );
    expect(await ask()).toBe("200");
    expect(await ask()).toBe("429 budget_exceeded");
    // The spend writer flushes every second; then Redis loses everything.
    await delay(1500);
    await redis.stop();
    await redis.start();
    await eventually(async () => (await storeUp(gateway.port, budgeted)) === "1");
    expect(await ask()).toBe("429 budget_exceeded");
  });

  it("a budget Redis lost in a restart is reseeded from the spend log", async () => {
    // The spend log as the spend writer leaves it: every settled request's cost.
    const rows: { keyId: string; time: number; usd: number }[] = [];
    const spend = {
      spentSince: async (keyId: string, from: string) =>
        rows
          .filter((row) => row.keyId === keyId && row.time >= Date.parse(from))
          .reduce((sum, row) => sum + row.usd, 0),
    };
    const key: LimitedKey = { id: "reseed", limits: { budget_usd: 1, budget_period: "daily" } };
    const counters = async () => {
      const client = new Redis(redis.url, redisClientOptions());
      await new Promise<void>((resolve) => client.once("ready", () => resolve()));
      return { client, counters: createRedisCounters({ redis: client, spend, slotLeaseMs: () => 60_000 }) };
    };
    const before = await counters();
    const now = Date.now();
    const first = await before.counters.admit(key, now);
    if (!first.admitted) throw new Error("the first request is within the budget");
    before.counters.settle(key, first.ticket, { tokens: 100, costUsd: 1.2 }, now);
    rows.push({ keyId: key.id, time: now, usd: 1.2 });
    await before.client.ping();
    expect(await before.counters.admit(key, now)).toMatchObject({ admitted: false, code: "budget_exceeded" });
    before.client.disconnect();

    await redis.stop();
    await redis.start();
    const after = await counters();
    expect(await after.client.dbsize()).toBe(0);
    expect(await after.counters.admit(key, Date.now())).toMatchObject({
      admitted: false,
      code: "budget_exceeded",
    });
    after.client.disconnect();
  });
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
