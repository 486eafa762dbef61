/**
 * `GET /admin/usage?from=&to=&key=&model=&group_by=key|model|day`: the spend log summed per key, model or UTC day.
 * Behind an admin key (src/auth/auth-hook.ts). `from` is inclusive, `to` exclusive, and a bare date as `to` means
 * the end of that day, so `from=2026-03-01&to=2026-03-31` is the whole of March's first 31 days.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { GovernanceStore, UsageRow } from "../governance/store.ts";
import { timeBound } from "../governance/time-bound.ts";
import { sendAdminError, sendInvalid } from "./admin-answers.ts";

const timeField = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: "must be an ISO 8601 date (2026-03-01) or date-time with an offset (2026-03-01T12:00:00Z)",
});

const usageQuery = z.strictObject({
  from: timeField.optional(),
  to: timeField.optional(),
  /** A key id (`key_...`, `file:<name>`) or name. */
  key: z.string().min(1).max(200).optional(),
  model: z.string().min(1).max(256).optional(),
  group_by: z.enum(["key", "model", "day"]).default("key"),
});

/** Options of usageRoutes. */
export interface UsageRoutesOptions {
  readonly store: GovernanceStore;
}

export async function usageRoutes(app: FastifyInstance, options: UsageRoutesOptions): Promise<void> {
  app.get("/admin/usage", async (request, reply) => {
    reply.header("cache-control", "no-store");
    const parsed = usageQuery.safeParse(request.query);
    if (!parsed.success) return sendInvalid(reply, parsed.error, "usage query");
    const query = parsed.data;
    if (
      query.from !== undefined &&
      query.to !== undefined &&
      timeBound(query.from, "from") >= timeBound(query.to, "to")
    ) {
      return sendAdminError(
        reply,
        400,
        "Invalid usage query: 'from' must be before 'to'.",
        "invalid_request",
        "to",
      );
    }
    const rows = await options.store.spend.usage({
      from: query.from,
      to: query.to,
      key: query.key,
      model: query.model,
      groupBy: query.group_by,
    });
    return { data: rows.map(usageView) };
  });
}

/** One group in the API's snake_case; cost rounded to a nano-dollar so float sums do not show noise. */
function usageView(row: UsageRow): Record<string, string | number | null> {
  const group: Record<string, string | null> =
    row.day !== undefined
      ? { day: row.day }
      : row.model !== undefined
        ? { model: row.model }
        : { key_id: row.keyId ?? null, key_name: row.keyName ?? null };
  return {
    ...group,
    requests: row.requests,
    input_tokens: row.inputTokens,
    cached_tokens: row.cachedTokens,
    output_tokens: row.outputTokens,
    cost_usd: Math.round(row.costUsd * 1e9) / 1e9,
  };
}
