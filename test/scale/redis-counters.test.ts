/**
 * The Redis counters against the shared Redis (127.0.0.1:6379): several counter instances, each with its own
 * connection, stand for several replicas. Every test has its own key prefix and deletes its keys after.
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import type { LimitCounters, LimitedKey } from "../../src/governance/counters.ts";
import { MemoryLimitCounters } from "../../src/governance/memory-counters.ts";
import { createRedisCounters } from "../../src/governance/redis-counters.ts";
import { redisClientOptions } from "../../src/governance/redis-link.ts";
import { deleteKeys, SHARED_REDIS_URL, testPrefix } from "../helpers/redis-server.ts";

interface Replica {
  readonly counters: LimitCounters;
  readonly client: Redis;
}

const clients: Redis[] = [];
const prefixes: string[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  for (const prefix of prefixes.splice(0)) await deleteKeys(SHARED_REDIS_URL, prefix);
});

/** `count` replicas sharing one prefix; `spentSince` answers budget seeds. */
async function replicas(
  count: number,
  options: { leaseMs?: number; spentSince?: (keyId: string, from: string) => Promise<number> } = {},
): Promise<Replica[]> {
  const prefix = testPrefix();
  prefixes.push(prefix);
  const made: Replica[] = [];
  for (let index = 0; index < count; index++) {
    const client = new Redis(SHARED_REDIS_URL, redisClientOptions());
    clients.push(client);
    await new Promise<void>((resolve) => client.once("ready", () => resolve()));
    const counters = createRedisCounters({
      redis: client,
      prefix,
      spend: { spentSince: options.spentSince ?? (async () => 0) },
      slotLeaseMs: () => options.leaseMs ?? 60_000,
    });
    made.push({ counters, client });
  }
  return made;
}

/**
 * Waits until `replica`'s settles are in Redis: slots and tokens go out within 20 ms (or with the key's next admit),
 * and one connection runs its commands in order.
 */
async function settled(replica: Replica): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 40));
  await replica.client.ping();
}

describe("Redis counters shared by replicas", () => {
  it("rpm 10 with 30 concurrent admits over three replicas admits exactly 10", async () => {
    const all = await replicas(3);
    const key: LimitedKey = { id: "team-a", limits: { rpm: 10 } };
    const now = Date.now();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, index) => all[index % 3]?.counters.admit(key, now + index)),
    );
    const admitted = results.filter((result) => result?.admitted === true);
    expect(admitted).toHaveLength(10);
    const refused = results.find((result) => result?.admitted === false);
    expect(refused).toMatchObject({ admitted: false, code: "rate_limit_exceeded", limit: "rpm" });
    if (refused?.admitted !== false) throw new Error("expected a refusal");
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(refused.state.requests).toMatchObject({ limit: 10, remaining: 0 });
    // A minute later the window is empty again.
    const later = await all[1]?.counters.admit(key, now + 61_000);
    expect(later).toMatchObject({ admitted: true, state: { requests: { limit: 10, remaining: 9 } } });
  });

  it("a budget spent on one replica refuses the next request on another", async () => {
    const [first, second] = await replicas(2);
    if (first === undefined || second === undefined) throw new Error("two replicas");
    const key: LimitedKey = { id: "budget-key", limits: { budget_usd: 0.01, budget_period: "daily" } };
    const now = Date.now();
    const one = await first.counters.admit(key, now);
    expect(one.admitted).toBe(true);
    if (!one.admitted) return;
    first.counters.settle(key, one.ticket, { tokens: 1200, costUsd: 0.0105 }, now + 10);
    // Spend goes out at once (no batching delay): the commands before this ping have run.
    await first.client.ping();
    const two = await second.counters.admit(key, now + 20);
    expect(two).toMatchObject({ admitted: false, code: "budget_exceeded", limit: "budget_usd" });
    if (two.admitted) return;
    // Until the next UTC midnight.
    const midnight = Date.UTC(
      new Date(now).getUTCFullYear(),
      new Date(now).getUTCMonth(),
      new Date(now).getUTCDate() + 1,
    );
    expect(two.retryAfterSeconds).toBe(Math.ceil((midnight - now - 20) / 1000));
  });

  it("a total budget's refusal has no retry-after", async () => {
    const [only] = await replicas(1, { spentSince: async () => 5 });
    const key: LimitedKey = { id: "total-key", limits: { budget_usd: 5, budget_period: "total" } };
    const refused = await only?.counters.admit(key, Date.now());
    expect(refused).toMatchObject({ admitted: false, code: "budget_exceeded", retryAfterSeconds: undefined });
  });

  it("max_parallel slots are shared and freed by settle on any replica's counters", async () => {
    const [first, second] = await replicas(2);
    if (first === undefined || second === undefined) throw new Error("two replicas");
    const key: LimitedKey = { id: "slots", limits: { max_parallel: 2 } };
    const now = Date.now();
    const a = await first.counters.admit(key, now);
    const b = await second.counters.admit(key, now);
    expect([a.admitted, b.admitted]).toEqual([true, true]);
    const c = await second.counters.admit(key, now);
    expect(c).toMatchObject({ admitted: false, code: "rate_limit_exceeded", limit: "max_parallel" });
    if (!a.admitted) return;
    first.counters.settle(key, a.ticket, { tokens: 0, costUsd: 0 }, now + 5);
    await settled(first);
    expect((await second.counters.admit(key, now + 10)).admitted).toBe(true);
  });

  it("slots held by a replica that died come back when their lease ends", async () => {
    const [dying, survivor] = await replicas(2, { leaseMs: 2000 });
    if (dying === undefined || survivor === undefined) throw new Error("two replicas");
    const key: LimitedKey = { id: "lease", limits: { max_parallel: 1 } };
    const now = Date.now();
    expect((await dying.counters.admit(key, now)).admitted).toBe(true);
    // The replica is gone without settling.
    dying.client.disconnect();
    expect((await survivor.counters.admit(key, now + 1500)).admitted).toBe(false);
    expect((await survivor.counters.admit(key, now + 2001)).admitted).toBe(true);
  });

  it("tokens settled on one replica count toward tpm on another", async () => {
    const [first, second] = await replicas(2);
    if (first === undefined || second === undefined) throw new Error("two replicas");
    const key: LimitedKey = { id: "tpm", limits: { tpm: 1000 } };
    const now = Date.now();
    const one = await first.counters.admit(key, now);
    if (!one.admitted) throw new Error("first admitted");
    first.counters.settle(key, one.ticket, { tokens: 1000, costUsd: 0 }, now + 1);
    await settled(first);
    const two = await second.counters.admit(key, now + 2);
    expect(two).toMatchObject({
      admitted: false,
      limit: "tpm",
      state: { tokens: { limit: 1000, remaining: 0 } },
    });
  });

  it("a budget Redis does not have is seeded from the spend log once, however many requests ask", async () => {
    const asked: string[] = [];
    const [first, second] = await replicas(2, {
      spentSince: async (keyId, from) => {
        asked.push(`${keyId}@${from}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        return 4.99;
      },
    });
    if (first === undefined || second === undefined) throw new Error("two replicas");
    const key: LimitedKey = { id: "seeded", limits: { budget_usd: 5, budget_period: "monthly" } };
    const now = Date.now();
    const results = await Promise.all([1, 2, 3].map(() => first.counters.admit(key, now)));
    expect(results.every((result) => result.admitted)).toBe(true);
    const monthStart = new Date(Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1));
    expect(asked).toEqual([`seeded@${monthStart.toISOString()}`]);
    // The seed is in Redis: the other replica does not ask again, and 0.02 more spend exhausts the budget.
    const admitted = results[0];
    if (admitted?.admitted !== true) throw new Error("admitted");
    first.counters.settle(key, admitted.ticket, { tokens: 10, costUsd: 0.02 }, now);
    await settled(first);
    expect(await second.counters.admit(key, now)).toMatchObject({ admitted: false, code: "budget_exceeded" });
    expect(asked).toHaveLength(1);
  });
});

describe("Redis counters against the memory counters", () => {
  it("answer the same to the same requests over several minutes (verdicts, retry-after, header state)", async () => {
    const [replica] = await replicas(1, { leaseMs: 3_600_000, spentSince: async () => 0.5 });
    if (replica === undefined) throw new Error("one replica");
    const memory = new MemoryLimitCounters({ spentSince: async () => 0.5 });
    const key: LimitedKey = {
      id: "differential",
      limits: { rpm: 7, tpm: 900, max_parallel: 3, budget_usd: 1.5, budget_period: "total" },
    };
    // A fixed pseudo-random walk: bursts, pauses of up to 70 s, settles in any order.
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const held: { redis: string; memory: string }[] = [];
    const refusals = new Set<string>();
    for (let step = 0; step < 300; step++) {
      now += random() < 0.1 ? Math.floor(random() * 70_000) : Math.floor(random() * 1500);
      if (held.length > 0 && random() < 0.45) {
        const [ending] = held.splice(Math.floor(random() * held.length), 1);
        if (ending === undefined) continue;
        const spent = { tokens: Math.floor(random() * 400), costUsd: random() < 0.2 ? 0.05 : 0 };
        replica.counters.settle(key, ending.redis, spent, now);
        memory.settle(key, ending.memory, spent, now);
        // No wait: the replica's next admit carries what ended (or its timer sent it already, in order).
        continue;
      }
      const [fromRedis, fromMemory] = [await replica.counters.admit(key, now), await memory.admit(key, now)];
      const { ticket: redisTicket, ...redisView } = { ticket: "", ...fromRedis };
      const { ticket: memoryTicket, ...memoryView } = { ticket: "", ...fromMemory };
      expect(redisView, `step ${step} at +${now - Date.UTC(2026, 0, 1, 12)} ms`).toEqual(memoryView);
      if (fromRedis.admitted) held.push({ redis: redisTicket, memory: memoryTicket });
      else refusals.add(fromRedis.limit);
    }
    // The walk met every limit.
    expect([...refusals].sort()).toEqual(["budget_usd", "max_parallel", "rpm", "tpm"]);
  });
});
