/**
 * LimitCounters in this process's memory: one worker, or the cluster primary serving its workers over IPC
 * (src/cluster/primary-counters.ts). Per key: rpm and tpm as rolling minutes of per-second buckets, the tickets of
 * the requests in flight, and the spend of the current budget period. A key's budget spend is seeded on its first
 * use from the spend log (`SpendLog.spentSince`), so a budget survives a restart; from then on this process
 * counts it, and a new period starts at zero.
 *
 * A request is refused once a window or period is at or over its limit: nothing is estimated in advance, so tokens
 * and cost are charged when the request settles.
 */
import { budgetPeriodAt, DEFAULT_BUDGET_PERIOD } from "./budget-period.ts";
import type { Admission, LimitCounters, LimitedKey, LimitState, LimitWindow, Spent } from "./counters.ts";
import { RollingWindow } from "./rolling-window.ts";

/** USD a key spent since an ISO 8601 time (SpendLog.spentSince). */
export type SpentSince = (keyId: string, fromIso: string) => Promise<number>;

export interface MemoryCountersOptions {
  /** Seeds budgets on a key's first use; absent: budgets start at zero in each process lifetime. */
  readonly spentSince?: SpentSince;
  /** Told when seeding failed (the budget then starts at zero rather than refusing the key). */
  readonly onSeedError?: (keyId: string, error: unknown) => void;
}

/** When a refusal cannot say when room will come back (a slot frees when some request ends). */
const SLOT_RETRY_SECONDS = 1;

interface KeyCounters {
  readonly requests: RollingWindow;
  readonly tokens: RollingWindow;
  /** Tickets of the admitted requests still in flight that hold a max_parallel slot. */
  readonly slots: Set<string>;
  /** `${period}:${start}` of the budget period `spent` counts, undefined before the first seed. */
  budgetPeriod: string | undefined;
  spent: number;
  seeding: { readonly period: string; readonly usd: Promise<number> } | undefined;
}

export class MemoryLimitCounters implements LimitCounters {
  private readonly keys = new Map<string, KeyCounters>();
  private nextTicket = 0;

  private readonly options: MemoryCountersOptions;

  constructor(options: MemoryCountersOptions = {}) {
    this.options = options;
  }

  admit(key: LimitedKey, nowMs: number): Promise<Admission> {
    const spentSince = this.options.spentSince;
    if (key.limits.budget_usd === undefined || spentSince === undefined)
      return Promise.resolve(this.admitSeeded(key, nowMs, undefined));
    const counters = this.countersOf(key.id);
    const { period, start } = budgetPeriodOf(key, nowMs);
    if (counters.budgetPeriod === period) return Promise.resolve(this.admitSeeded(key, nowMs, undefined));
    // One look-up per key and period, however many requests arrive while it runs.
    if (counters.seeding?.period !== period) {
      const usd = spentSince(key.id, new Date(start).toISOString()).catch((error: unknown) => {
        this.options.onSeedError?.(key.id, error);
        return 0;
      });
      counters.seeding = { period, usd };
    }
    return counters.seeding.usd.then((usd) => this.admitSeeded(key, nowMs, usd));
  }

  admitNow(key: LimitedKey, nowMs: number): Admission | undefined {
    if (key.limits.budget_usd === undefined || this.options.spentSince === undefined)
      return this.admitSeeded(key, nowMs, undefined);
    const counted = this.keys.get(key.id)?.budgetPeriod;
    return counted === budgetPeriodOf(key, nowMs).period
      ? this.admitSeeded(key, nowMs, undefined)
      : undefined;
  }

  /**
   * admit() with the budget's seed in hand: `seedUsd` is what the key spent earlier in the current period, used
   * only when this process has not counted the period yet (undefined: zero). Synchronous, for the primary's IPC.
   */
  admitSeeded(key: LimitedKey, nowMs: number, seedUsd: number | undefined): Admission {
    const { limits } = key;
    const counters = this.countersOf(key.id);
    if (limits.budget_usd !== undefined) {
      const end = this.rollBudget(counters, key, nowMs, seedUsd);
      if (counters.spent >= limits.budget_usd) {
        return {
          admitted: false,
          code: "budget_exceeded",
          limit: "budget_usd",
          retryAfterSeconds: Number.isFinite(end) ? Math.max(1, Math.ceil((end - nowMs) / 1000)) : undefined,
          state: stateOf(counters, key, nowMs),
        };
      }
    }
    if (limits.rpm !== undefined && counters.requests.used(nowMs) >= limits.rpm)
      return refused(counters, key, nowMs, "rpm", counters.requests.msUntilBelow(limits.rpm, nowMs));
    if (limits.tpm !== undefined && counters.tokens.used(nowMs) >= limits.tpm)
      return refused(counters, key, nowMs, "tpm", counters.tokens.msUntilBelow(limits.tpm, nowMs));
    if (limits.max_parallel !== undefined && counters.slots.size >= limits.max_parallel)
      return refused(counters, key, nowMs, "max_parallel", SLOT_RETRY_SECONDS * 1000);
    const ticket = String(++this.nextTicket);
    if (limits.rpm !== undefined) counters.requests.add(1, nowMs);
    if (limits.max_parallel !== undefined) counters.slots.add(ticket);
    return { admitted: true, ticket, state: stateOf(counters, key, nowMs) };
  }

  settle(key: LimitedKey, ticket: string, spent: Spent, nowMs: number): void {
    const counters = this.keys.get(key.id);
    if (counters === undefined) return;
    counters.slots.delete(ticket);
    if (spent.tokens > 0) counters.tokens.add(spent.tokens, nowMs);
    if (spent.costUsd > 0 && key.limits.budget_usd !== undefined) {
      this.rollBudget(counters, key, nowMs, undefined);
      counters.spent += spent.costUsd;
    }
  }

  /** How many requests of a key hold a slot (tests, and the primary's accounting). */
  inFlight(keyId: string): number {
    return this.keys.get(keyId)?.slots.size ?? 0;
  }

  async close(): Promise<void> {
    this.keys.clear();
  }

  private countersOf(keyId: string): KeyCounters {
    let counters = this.keys.get(keyId);
    if (counters === undefined) {
      counters = {
        requests: new RollingWindow(),
        tokens: new RollingWindow(),
        slots: new Set(),
        budgetPeriod: undefined,
        spent: 0,
        seeding: undefined,
      };
      this.keys.set(keyId, counters);
    }
    return counters;
  }

  /**
   * Makes `spent` count the period holding `nowMs`; returns the period's end. A period this process has not counted
   * yet (first use, a new period, or the key's budget_period changed) starts at `seedUsd`.
   */
  private rollBudget(
    counters: KeyCounters,
    key: LimitedKey,
    nowMs: number,
    seedUsd: number | undefined,
  ): number {
    const { period, end } = budgetPeriodOf(key, nowMs);
    if (period !== counters.budgetPeriod) {
      counters.spent = seedUsd ?? 0;
      counters.budgetPeriod = period;
    }
    return end;
  }
}

function budgetPeriodOf(key: LimitedKey, nowMs: number): { period: string; start: number; end: number } {
  const name = key.limits.budget_period ?? DEFAULT_BUDGET_PERIOD;
  const { start, end } = budgetPeriodAt(name, nowMs);
  return { period: `${name}:${start}`, start, end };
}

function refused(
  counters: KeyCounters,
  key: LimitedKey,
  nowMs: number,
  limit: "rpm" | "tpm" | "max_parallel",
  waitMs: number,
): Admission {
  return {
    admitted: false,
    code: "rate_limit_exceeded",
    limit,
    retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
    state: stateOf(counters, key, nowMs),
  };
}

function stateOf(counters: KeyCounters, key: LimitedKey, nowMs: number): LimitState {
  const { rpm, tpm } = key.limits;
  const state: { requests?: LimitWindow; tokens?: LimitWindow } = {};
  if (rpm !== undefined) state.requests = windowOf(counters.requests, rpm, nowMs);
  if (tpm !== undefined) state.tokens = windowOf(counters.tokens, tpm, nowMs);
  return state;
}

function windowOf(window: RollingWindow, limit: number, nowMs: number): LimitWindow {
  return {
    limit,
    remaining: Math.max(0, limit - window.used(nowMs)),
    resetSeconds: window.msUntilEmpty(nowMs) / 1000,
  };
}
