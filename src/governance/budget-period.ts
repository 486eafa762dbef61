/**
 * The calendar period (UTC) a budget's spend counts over: a day, an ISO week from Monday, a month, or all time.
 */
import type { BudgetPeriod } from "./limits.ts";

/** The default `budget_period` when a key sets `budget_usd` alone. */
export const DEFAULT_BUDGET_PERIOD: BudgetPeriod = "monthly";

/** When the period holding `nowMs` began and ends (epoch ms; `end` is Infinity for `total`). */
export function budgetPeriodAt(period: BudgetPeriod, nowMs: number): { start: number; end: number } {
  const now = new Date(nowMs);
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  const day = now.getUTCDate();
  switch (period) {
    case "daily":
      return { start: Date.UTC(year, month, day), end: Date.UTC(year, month, day + 1) };
    case "weekly": {
      // getUTCDay: 0 is Sunday; weeks start on Monday (ISO 8601).
      const monday = day - ((now.getUTCDay() + 6) % 7);
      return { start: Date.UTC(year, month, monday), end: Date.UTC(year, month, monday + 7) };
    }
    case "monthly":
      return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
    case "total":
      return { start: 0, end: Number.POSITIVE_INFINITY };
  }
}
