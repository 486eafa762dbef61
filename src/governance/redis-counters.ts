/**
 * LimitCounters on Redis, for many replicas: every admit is one script run (EVALSHA through ioredis's
 * defineCommand, one round trip) that checks rpm, tpm, max_parallel and the budget and counts the request in one
 * atomic step, so N replicas enforce the limit, not N × it. settle never waits on Redis: the key's next admit
 * carries the requests that ended since (so a busy key costs one command per request, not two), and a key that
 * gets no admit within SETTLE_DELAY_MS has them sent on their own; until then a peer replica sees those slots and
 * tokens as still in use (it may refuse a little early, never late). Spend is sent at once, so that no replica
 * admits a request past a budget another one has just reached.
 *
 * Slots are leases: a ticket in a sorted set scored by when its lease ends. A replica that dies holding slots never
 * settles them; they count until their lease ends and then drop out at the next admit of that key. The lease is
 * longer than any request can last (the request deadline, proxy.timeout, covers the whole stream), so a live
 * request never loses its slot and no renewal traffic is needed.
 *
 * Budgets: the period's spend is one float per key and period, expiring a day after the period ends. When it is
 * missing (the period just began, or Redis restarted empty) the first admit seeds it from the spend log with
 * SET NX (one seed wins when replicas race) and runs again.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { budgetPeriodAt, DEFAULT_BUDGET_PERIOD } from "./budget-period.ts";
import type { Admission, LimitCounters, LimitedKey, LimitState, LimitWindow } from "./counters.ts";
import { ADMIT_LUA, SETTLE_LUA } from "./redis-scripts.ts";
import type { SpendLog } from "./store.ts";

/** ioredis with the two scripts defined on it. */
interface ScriptedRedis extends Redis {
  llmProxyAdmit(...keysThenArgs: (string | number)[]): Promise<number[]>;
  llmProxySettle(...keysThenArgs: (string | number)[]): Promise<number>;
}

export interface RedisCountersOptions {
  /** A connected client (see redis-client.ts for the options that keep a dead Redis from stalling requests). */
  readonly redis: Redis;
  /** Prefix of every key, so several gateways (or tests) can share one Redis. Default `llm-proxy:`. */
  readonly prefix?: string;
  /** Seeds a budget whose spend Redis does not have. */
  readonly spend: Pick<SpendLog, "spentSince">;
  /** How long a slot is held when its request is never settled (its replica died). */
  readonly slotLeaseMs: () => number;
  /** Told when seeding a budget from the spend log failed. */
  readonly onSeedError?: (keyId: string, error: unknown) => void;
  /** A settle that failed (Redis went away): its slot comes back with the lease, its spend is lost to Redis. */
  readonly onSettleError?: (error: unknown) => void;
}

/** The longest a request's end waits for its key's next admit before it is sent alone. */
const SETTLE_DELAY_MS = 20;
/** Tickets one command carries at most (Lua's unpack has a stack limit). */
const MAX_BATCH_TICKETS = 500;

/** Requests of one key that ended and are not yet in Redis. */
interface Ended {
  readonly tokensKey: string;
  readonly slotsKey: string;
  readonly budgetKey: string;
  readonly tickets: string[];
  tokens: number;
  cost: number;
  /** When the last of them ended (epoch ms): their tokens count in that second. */
  at: number;
}

const LIMIT_NAMES = { 1: "rpm", 2: "tpm", 3: "max_parallel", 4: "budget_usd" } as const;
/** Budget keys outlive their period by a day, so a replica whose clock lags a little still finds them. */
const BUDGET_KEY_MARGIN_MS = 86_400_000;

/** Creates the counters; `close()` does not close the client (the caller owns it). */
export function createRedisCounters(options: RedisCountersOptions): LimitCounters {
  const redis = options.redis as ScriptedRedis;
  if (typeof redis.llmProxyAdmit !== "function") {
    redis.defineCommand("llmProxyAdmit", { numberOfKeys: 4, lua: ADMIT_LUA });
    redis.defineCommand("llmProxySettle", { numberOfKeys: 3, lua: SETTLE_LUA });
  }
  const prefix = options.prefix ?? "llm-proxy:";
  // Tickets only need to be unique among live slots: a random per-process part and a counter.
  const ticketBase = randomBytes(6).toString("base64url");
  let ticketCount = 0;
  // One spend-log query per missing budget key, however many requests find it missing at once.
  const seeding = new Map<string, Promise<void>>();
  const ended = new Map<string, Ended>();
  let flushTimer: NodeJS.Timeout | undefined;

  const send = (batch: Ended) => {
    redis
      .llmProxySettle(
        batch.tokensKey,
        batch.slotsKey,
        batch.budgetKey,
        batch.tickets.join(","),
        batch.tokens,
        String(batch.cost),
        batch.at,
      )
      .catch((error: unknown) => options.onSettleError?.(error));
  };
  const flush = () => {
    flushTimer = undefined;
    for (const batch of ended.values()) send(batch);
    ended.clear();
  };

  const keysOf = (key: LimitedKey, nowMs: number) => {
    const base = `${prefix}{${key.id}}:`;
    const budget = budgetOf(key, nowMs);
    return {
      requests: `${base}r`,
      tokens: `${base}t`,
      slots: `${base}s`,
      // The period's name too: a day and a month can start at the same instant, and a key's period may change.
      budget:
        budget === undefined
          ? `${base}b`
          : `${base}b:${key.limits.budget_period ?? DEFAULT_BUDGET_PERIOD}:${budget.start}`,
      period: budget,
    };
  };

  async function seedBudget(keyId: string, budgetKey: string, period: { start: number; end: number }) {
    let pending = seeding.get(budgetKey);
    if (pending === undefined) {
      pending = (async () => {
        const spent = await options.spend.spentSince(keyId, new Date(period.start).toISOString());
        if (Number.isFinite(period.end)) {
          const ttl = Math.max(1, period.end - Date.now() + BUDGET_KEY_MARGIN_MS);
          await redis.set(budgetKey, String(spent), "PX", ttl, "NX");
        } else await redis.set(budgetKey, String(spent), "NX");
      })().finally(() => seeding.delete(budgetKey));
      seeding.set(budgetKey, pending);
    }
    await pending;
  }

  return {
    async admit(key, nowMs) {
      const limits = key.limits;
      const keys = keysOf(key, nowMs);
      ticketCount += 1;
      const ticket = limits.max_parallel === undefined ? "" : `${ticketBase}.${ticketCount}`;
      const args = [
        keys.requests,
        keys.tokens,
        keys.slots,
        keys.budget,
        nowMs,
        limits.rpm ?? 0,
        limits.tpm ?? 0,
        limits.max_parallel ?? 0,
        limits.budget_usd ?? 0,
        ticket,
        nowMs + options.slotLeaseMs(),
        keys.period !== undefined && Number.isFinite(keys.period.end) ? keys.period.end : 0,
      ];
      // The key's requests that ended since its last check ride along (unless a new budget period began since).
      let batch = ended.get(key.id);
      if (batch !== undefined) {
        ended.delete(key.id);
        if (batch.budgetKey !== keys.budget) {
          send(batch);
          batch = undefined;
        }
      }
      args.push(
        batch?.tickets.join(",") ?? "",
        batch?.tokens ?? 0,
        String(batch?.cost ?? 0),
        batch?.at ?? nowMs,
      );
      let reply = await redis.llmProxyAdmit(...args);
      // Whatever happens next, they are settled: the retry below must not settle them twice.
      args.splice(12, 4, "", 0, "0", nowMs);
      if (reply[0] === -1 && keys.period !== undefined) {
        const seeded = await seedBudget(key.id, keys.budget, keys.period).then(
          () => true,
          (error: unknown) => {
            options.onSeedError?.(key.id, error);
            return false;
          },
        );
        // As the memory counters do, a spend log that cannot answer does not refuse the key: this request goes
        // without the budget check (nothing is written, so the next request tries the seed again).
        if (!seeded) args[8] = 0;
        reply = await redis.llmProxyAdmit(...args);
        // Only if the key expired again between the seed and this run: an error, so the fail mode decides.
        if (reply[0] === -1) throw new Error(`budget of key ${key.id} could not be seeded in Redis`);
      }
      return admissionOf(key, ticket, reply);
    },
    settle(key, ticket, spent, nowMs) {
      const tokens = key.limits.tpm === undefined ? 0 : Math.max(0, Math.round(spent.tokens));
      const cost = key.limits.budget_usd === undefined ? 0 : Math.max(0, spent.costUsd);
      if (ticket === "" && tokens === 0 && cost === 0) return;
      const keys = keysOf(key, nowMs);
      let batch = ended.get(key.id);
      // A batch holds one budget period, and tokens of one second (they count in the second they were used).
      const otherSecond =
        batch !== undefined &&
        tokens > 0 &&
        batch.tokens > 0 &&
        Math.floor(batch.at / 1000) !== Math.floor(nowMs / 1000);
      if (batch !== undefined && (batch.budgetKey !== keys.budget || otherSecond)) {
        send(batch);
        batch = undefined;
      }
      if (batch === undefined) {
        batch = {
          tokensKey: keys.tokens,
          slotsKey: keys.slots,
          budgetKey: keys.budget,
          tickets: [],
          tokens: 0,
          cost: 0,
          at: nowMs,
        };
        ended.set(key.id, batch);
      }
      if (ticket !== "") batch.tickets.push(ticket);
      batch.tokens += tokens;
      batch.cost += cost;
      batch.at = Math.max(batch.at, nowMs);
      // Spend goes out at once: another replica's next check of the budget must see it (a budget is refused once
      // reached, and overspending is what budgets are for); slots and tokens can wait a few milliseconds.
      if (cost > 0 || batch.tickets.length >= MAX_BATCH_TICKETS) {
        ended.delete(key.id);
        send(batch);
      }
      if (flushTimer === undefined) {
        flushTimer = setTimeout(flush, SETTLE_DELAY_MS);
        flushTimer.unref();
      }
    },
    async close() {
      clearTimeout(flushTimer);
      flush();
    },
  };
}

/** The budget period of a key that has a budget. */
function budgetOf(key: LimitedKey, nowMs: number): { start: number; end: number } | undefined {
  if (key.limits.budget_usd === undefined) return undefined;
  return budgetPeriodAt(key.limits.budget_period ?? DEFAULT_BUDGET_PERIOD, nowMs);
}

/** The script's reply as an Admission. */
function admissionOf(key: LimitedKey, ticket: string, reply: readonly number[]): Admission {
  const [verdict, limit, retryMs, rUsed, rEmptyMs, tUsed, tEmptyMs] = reply.map(Number);
  const state: LimitState = {
    ...(key.limits.rpm === undefined
      ? {}
      : { requests: windowOf(key.limits.rpm, rUsed ?? 0, rEmptyMs ?? 0) }),
    ...(key.limits.tpm === undefined ? {} : { tokens: windowOf(key.limits.tpm, tUsed ?? 0, tEmptyMs ?? 0) }),
  };
  if (verdict === 1) return { admitted: true, ticket, state };
  const name = LIMIT_NAMES[(limit ?? 1) as keyof typeof LIMIT_NAMES] ?? "rpm";
  return {
    admitted: false,
    code: name === "budget_usd" ? "budget_exceeded" : "rate_limit_exceeded",
    limit: name,
    retryAfterSeconds:
      retryMs === undefined || retryMs < 0 ? undefined : Math.max(1, Math.ceil(retryMs / 1000)),
    state,
  };
}

/** As the memory counters report it: the reset is when every request now counted has left the window. */
function windowOf(limit: number, used: number, emptyMs: number): LimitWindow {
  return { limit, remaining: Math.max(0, limit - used), resetSeconds: emptyMs / 1000 };
}
