/**
 * The SpendLog over Kysely: the same queries for the SQLite file and PostgreSQL. Times are stored as
 * `Date.toISOString()` text, so every bound given by a caller is normalised to that form before it is compared
 * as text (a bare date, an offset or missing milliseconds would otherwise sort wrongly).
 */
import { type ExpressionBuilder, type Kysely, sql } from "kysely";
import type { SpendLog, SpendRow, UsageQuery, UsageRow } from "../store.ts";
import { timeBound } from "../time-bound.ts";
import type { GovernanceDatabase } from "./tables.ts";

/** Rows per INSERT: 16 parameters each stays far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_CHUNK = 500;

export class KyselySpendLog implements SpendLog {
  readonly #db: Kysely<GovernanceDatabase>;

  constructor(db: Kysely<GovernanceDatabase>) {
    this.#db = db;
  }

  async append(rows: readonly SpendRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#db.transaction().execute(async (trx) => {
      for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
        await trx
          .insertInto("spend_log")
          .values(rows.slice(start, start + INSERT_CHUNK).map(toColumns))
          .execute();
      }
    });
  }

  async usage(query: UsageQuery): Promise<UsageRow[]> {
    let select = this.#db.selectFrom("spend_log");
    if (query.from !== undefined) select = select.where("time", ">=", timeBound(query.from, "from"));
    if (query.to !== undefined) select = select.where("time", "<", timeBound(query.to, "to"));
    const key = query.key;
    if (key !== undefined) {
      select = select.where((eb) => eb.or([eb("key_id", "=", key), eb("key_name", "=", key)]));
    }
    if (query.model !== undefined) select = select.where("model", "=", query.model);
    const totals = select.select((eb) => [
      eb.fn.countAll<number | string>().as("requests"),
      eb.fn.sum<number | string>("input_tokens").as("input_tokens"),
      eb.fn.sum<number | string>("cached_tokens").as("cached_tokens"),
      eb.fn.sum<number | string>("output_tokens").as("output_tokens"),
      eb.fn.coalesce(eb.fn.sum<number | null>("cost_usd"), sql<number>`0`).as("cost_usd"),
    ]);
    switch (query.groupBy) {
      case "key": {
        // Grouped by id only: a key renamed since still sums as one (its latest-sorting name is shown).
        const rows = await totals
          .select((eb) => ["key_id", eb.fn.max("key_name").as("key_name")])
          .groupBy("key_id")
          .orderBy("key_id")
          .execute();
        return rows.map((row) => ({ keyId: row.key_id, keyName: row.key_name, ...sums(row) }));
      }
      case "model": {
        const rows = await totals.select("model").groupBy("model").orderBy("model").execute();
        return rows.map((row) => ({ model: row.model, ...sums(row) }));
      }
      case "day": {
        const day = (eb: ExpressionBuilder<GovernanceDatabase, "spend_log">) =>
          eb.fn<string>("substr", ["time", sql.lit(1), sql.lit(10)]);
        const rows = await totals
          .select((eb) => day(eb).as("day"))
          .groupBy((eb) => day(eb))
          .orderBy("day")
          .execute();
        return rows.map((row) => ({ day: row.day, ...sums(row) }));
      }
    }
  }

  async spentSince(keyId: string, from: string): Promise<number> {
    const row = await this.#db
      .selectFrom("spend_log")
      .select((eb) => eb.fn.sum<number | string | null>("cost_usd").as("spent"))
      .where("key_id", "=", keyId)
      .where("time", ">=", timeBound(from, "from"))
      .executeTakeFirst();
    return Number(row?.spent ?? 0);
  }

  async prune(before: string): Promise<number> {
    const result = await this.#db
      .deleteFrom("spend_log")
      .where("time", "<", timeBound(before, "from"))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function toColumns(row: SpendRow): GovernanceDatabase["spend_log"] {
  return {
    time: new Date(row.time).toISOString(),
    request_id: row.requestId,
    key_id: row.keyId ?? null,
    key_name: row.keyName ?? null,
    api: row.api,
    model: row.model ?? null,
    provider: row.provider ?? null,
    upstream_model: row.upstreamModel ?? null,
    status: row.status,
    input_tokens: Math.round(row.inputTokens),
    cached_tokens: Math.round(row.cachedTokens),
    output_tokens: Math.round(row.outputTokens),
    cost_usd: row.costUsd,
    estimated: row.estimated ? 1 : 0,
    latency_ms: Math.round(row.latencyMs),
    ttft_ms: row.ttftMs === undefined ? null : Math.round(row.ttftMs),
  };
}

/** PostgreSQL returns sums of integers as bigint text; SQLite as numbers. Both become numbers here. */
function sums(row: {
  requests: number | string;
  input_tokens: number | string;
  cached_tokens: number | string;
  output_tokens: number | string;
  cost_usd: number | string;
}): Omit<UsageRow, "keyId" | "keyName" | "model" | "day"> {
  return {
    requests: Number(row.requests),
    inputTokens: Number(row.input_tokens),
    cachedTokens: Number(row.cached_tokens),
    outputTokens: Number(row.output_tokens),
    costUsd: Number(row.cost_usd),
  };
}
