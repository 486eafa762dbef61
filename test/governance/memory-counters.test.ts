/** The in-memory limit counters on a fake clock: rolling windows, slots, budgets per calendar period, seeding. */
import { describe, expect, it } from "vitest";
import { budgetPeriodAt } from "../../src/governance/budget-period.ts";
import type { Admission, LimitedKey } from "../../src/governance/counters.ts";
import { MemoryLimitCounters } from "../../src/governance/memory-counters.ts";

/** 2026-03-11T10:00:00.000Z, a Wednesday. */
const T0 = Date.UTC(2026, 2, 11, 10, 0, 0);

function key(limits: LimitedKey["limits"], id = "file:team"): LimitedKey {
  return { id, limits };
}

function ticketOf(admission: Admission): string {
  if (!admission.admitted) throw new Error(`refused by ${admission.limit}`);
  return admission.ticket;
}

describe("MemoryLimitCounters", () => {
  it("admits rpm requests per rolling minute, then refuses with the wait until the oldest leaves", async () => {
    const counters = new MemoryLimitCounters();
    const team = key({ rpm: 3 });
    for (const offset of [0, 10_000, 20_500])
      expect((await counters.admit(team, T0 + offset)).admitted).toBe(true);
    const refused = await counters.admit(team, T0 + 30_000);
    expect(refused).toMatchObject({
      admitted: false,
      code: "rate_limit_exceeded",
      limit: "rpm",
      retryAfterSeconds: 30,
    });
    expect(refused.state.requests).toEqual({ limit: 3, remaining: 0, resetSeconds: 50 });
    // The first request leaves the window 60 s after its second.
    expect((await counters.admit(team, T0 + 59_999)).admitted).toBe(false);
    const again = await counters.admit(team, T0 + 60_000);
    expect(again.admitted).toBe(true);
    expect(again.state.requests).toMatchObject({ remaining: 0 });
    // A refused request counted nothing: after the minute everything is free again.
    expect((await counters.admit(team, T0 + 200_000)).state.requests).toMatchObject({ remaining: 2 });
  });

  it("charges tokens at settle and refuses tpm once the window is at the limit", async () => {
    const counters = new MemoryLimitCounters();
    const team = key({ tpm: 100 });
    const first = await counters.admit(team, T0);
    expect(first.state.tokens).toEqual({ limit: 100, remaining: 100, resetSeconds: 0 });
    // Admitted while under: there is no estimate in advance.
    const second = await counters.admit(team, T0 + 1);
    counters.settle(team, ticketOf(first), { tokens: 60, costUsd: 0 }, T0 + 2_000);
    expect((await counters.admit(team, T0 + 3_000)).state.tokens).toMatchObject({
      remaining: 40,
      resetSeconds: 59,
    });
    counters.settle(team, ticketOf(second), { tokens: 60, costUsd: 0 }, T0 + 5_000);
    const refused = await counters.admit(team, T0 + 6_000);
    expect(refused).toMatchObject({ admitted: false, limit: "tpm", retryAfterSeconds: 56 });
    expect(refused.state.tokens).toMatchObject({ remaining: 0 });
    expect((await counters.admit(team, T0 + 62_000)).admitted).toBe(true);
  });

  it("holds max_parallel slots until each admission settles, once", async () => {
    const counters = new MemoryLimitCounters();
    const team = key({ max_parallel: 2 });
    const a = ticketOf(await counters.admit(team, T0));
    const b = ticketOf(await counters.admit(team, T0));
    expect(await counters.admit(team, T0)).toMatchObject({
      admitted: false,
      limit: "max_parallel",
      retryAfterSeconds: 1,
    });
    counters.settle(team, a, { tokens: 0, costUsd: 0 }, T0);
    counters.settle(team, a, { tokens: 0, costUsd: 0 }, T0);
    expect(counters.inFlight(team.id)).toBe(1);
    const c = ticketOf(await counters.admit(team, T0));
    expect((await counters.admit(team, T0)).admitted).toBe(false);
    counters.settle(team, b, { tokens: 0, costUsd: 0 }, T0);
    counters.settle(team, c, { tokens: 0, costUsd: 0 }, T0);
    expect(counters.inFlight(team.id)).toBe(0);
  });

  it("keeps keys apart", async () => {
    const counters = new MemoryLimitCounters();
    expect((await counters.admit(key({ rpm: 1 }, "a"), T0)).admitted).toBe(true);
    expect((await counters.admit(key({ rpm: 1 }, "b"), T0)).admitted).toBe(true);
    expect((await counters.admit(key({ rpm: 1 }, "a"), T0)).admitted).toBe(false);
  });

  it("refuses a monthly budget once spent, until the next month (UTC), with retry-after to it", async () => {
    const counters = new MemoryLimitCounters();
    const team = key({ budget_usd: 1 });
    const first = ticketOf(await counters.admit(team, T0));
    counters.settle(team, first, { tokens: 10, costUsd: 0.6 }, T0 + 1);
    const second = ticketOf(await counters.admit(team, T0 + 2));
    counters.settle(team, second, { tokens: 10, costUsd: 0.4 }, T0 + 3);
    const refused = await counters.admit(team, T0 + 4);
    const april = Date.UTC(2026, 3, 1);
    expect(refused).toMatchObject({
      admitted: false,
      code: "budget_exceeded",
      limit: "budget_usd",
      retryAfterSeconds: Math.ceil((april - T0 - 4) / 1000),
    });
    expect((await counters.admit(team, april - 1)).admitted).toBe(false);
    expect((await counters.admit(team, april)).admitted).toBe(true);
  });

  it("has no retry-after for a total budget", async () => {
    const counters = new MemoryLimitCounters();
    const team = key({ budget_usd: 0.5, budget_period: "total" });
    counters.settle(team, ticketOf(await counters.admit(team, T0)), { tokens: 1, costUsd: 0.5 }, T0);
    const refused = await counters.admit(team, T0 + 400 * 86_400_000);
    expect(refused).toMatchObject({ admitted: false, code: "budget_exceeded", retryAfterSeconds: undefined });
  });

  it("seeds a budget once per key and period from the spend log, so it survives a restart", async () => {
    const asked: string[] = [];
    const counters = new MemoryLimitCounters({
      spentSince: async (keyId, from) => {
        asked.push(`${keyId}@${from}`);
        return 4.5;
      },
    });
    const team = key({ budget_usd: 5, budget_period: "daily" });
    const [a, b] = await Promise.all([counters.admit(team, T0), counters.admit(team, T0 + 1)]);
    expect(a.admitted && b.admitted).toBe(true);
    counters.settle(team, ticketOf(a), { tokens: 1, costUsd: 0.5 }, T0 + 2);
    expect(await counters.admit(team, T0 + 3)).toMatchObject({ admitted: false, code: "budget_exceeded" });
    expect(asked).toEqual(["file:team@2026-03-11T00:00:00.000Z"]);
    // The next day is seeded from the log again (whatever the log says it already holds).
    expect((await counters.admit(team, Date.UTC(2026, 2, 12, 0, 0, 1))).admitted).toBe(true);
    expect(asked).toEqual(["file:team@2026-03-11T00:00:00.000Z", "file:team@2026-03-12T00:00:00.000Z"]);
  });

  it("answers admitNow at once, except for a budget period it has not seeded yet", async () => {
    const counters = new MemoryLimitCounters({ spentSince: async () => 0.25 });
    expect(counters.admitNow(key({ rpm: 1 }, "plain"), T0)).toMatchObject({ admitted: true });
    expect(counters.admitNow(key({ rpm: 1 }, "plain"), T0)).toMatchObject({ admitted: false, limit: "rpm" });
    const budgeted = key({ budget_usd: 1 }, "budgeted");
    expect(counters.admitNow(budgeted, T0)).toBeUndefined();
    expect((await counters.admit(budgeted, T0)).admitted).toBe(true);
    expect(counters.admitNow(budgeted, T0 + 1)).toMatchObject({ admitted: true });
    // A new month has not been seeded: the caller awaits admit().
    expect(counters.admitNow(budgeted, Date.UTC(2026, 3, 1))).toBeUndefined();
  });

  it("starts a budget at zero when the spend log cannot be read, and says so", async () => {
    const failures: string[] = [];
    const counters = new MemoryLimitCounters({
      spentSince: async () => {
        throw new Error("store down");
      },
      onSeedError: (keyId) => failures.push(keyId),
    });
    expect((await counters.admit(key({ budget_usd: 1 }), T0)).admitted).toBe(true);
    expect(failures).toEqual(["file:team"]);
  });
});

describe("budgetPeriodAt", () => {
  it("starts days at midnight, weeks on Monday and months on the 1st, in UTC", () => {
    const iso = (ms: number) => new Date(ms).toISOString();
    const daily = budgetPeriodAt("daily", T0);
    expect([iso(daily.start), iso(daily.end)]).toEqual([
      "2026-03-11T00:00:00.000Z",
      "2026-03-12T00:00:00.000Z",
    ]);
    const weekly = budgetPeriodAt("weekly", T0);
    expect([iso(weekly.start), iso(weekly.end)]).toEqual([
      "2026-03-09T00:00:00.000Z",
      "2026-03-16T00:00:00.000Z",
    ]);
    const sunday = budgetPeriodAt("weekly", Date.UTC(2026, 2, 15, 23, 59));
    expect(iso(sunday.start)).toBe("2026-03-09T00:00:00.000Z");
    const monthly = budgetPeriodAt("monthly", Date.UTC(2026, 11, 31, 23));
    expect([iso(monthly.start), iso(monthly.end)]).toEqual([
      "2026-12-01T00:00:00.000Z",
      "2027-01-01T00:00:00.000Z",
    ]);
    expect(budgetPeriodAt("total", T0)).toEqual({ start: 0, end: Number.POSITIVE_INFINITY });
  });
});
