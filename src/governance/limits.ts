/**
 * Per-key limits, as the config (`auth.keys[].limits`) and the admin API (`POST /admin/keys`) write them. One schema
 * for both, so a file key and a virtual key are limited the same way.
 */
import { z } from "zod";

/** How long a budget lasts before its spend starts again from zero (calendar periods, UTC). */
export const BUDGET_PERIODS = ["daily", "weekly", "monthly", "total"] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

const positiveCount = z.number().int().positive().max(1e12);

/** Every field optional: a key limits only what it names. */
export const keyLimitsSchema = z.strictObject({
  /** Requests per rolling minute. */
  rpm: positiveCount.optional(),
  /** Tokens (input + output) per rolling minute. */
  tpm: positiveCount.optional(),
  /** Requests in flight at once. */
  max_parallel: positiveCount.optional(),
  /** USD per budget_period; a request is refused once the period's spend has reached it. */
  budget_usd: z.number().positive().max(1e12).optional(),
  /** Default `monthly` when budget_usd is set. */
  budget_period: z.enum(BUDGET_PERIODS).optional(),
});

export type KeyLimits = z.infer<typeof keyLimitsSchema>;

/** Whether `limits` limits anything (an empty object costs nothing per request). */
export function limitsAnything(limits: KeyLimits | undefined): limits is KeyLimits {
  return (
    limits !== undefined &&
    (limits.rpm !== undefined ||
      limits.tpm !== undefined ||
      limits.max_parallel !== undefined ||
      limits.budget_usd !== undefined)
  );
}
