/**
 * The SpendLog over Kysely: the same queries for the SQLite file and PostgreSQL. Times are stored as
 * `Date.toISOString()` text, so every bound given by a caller is normalised to that form before it is compared
 * as text (a bare date, an offset or missing milliseconds would otherwise sort wrongly).
 */
import { CompiledQuery, type ExpressionBuilder, type Kysely, sql } from "kysely";
import type { SpendLog, SpendRow, UsageQuery, UsageRow } from "../store.ts";
import { timeBound } from "../time-bound.ts";
import type { GovernanceDatabase } from "./tables.ts";

/** Rows per INSERT: 16 parameters each stays far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_CHUNK = 500;

/** Column values of one row in the order the INSERT's placeholders expect them. */
const SPEND_COLUMNS = Object.keys(toColumns(placeholderRow())) as (keyof GovernanceDatabase["spend_log"])[];

export class KyselySpendLog implements SpendLog {
  readonly #db: Kysely<GovernanceDatabase>;
  /** The INSERT text of n rows in this database's dialect, by n (full chunks all share one). */
  readonly #insertSql = new Map<number, string>();

  constructor(db: Kysely<GovernanceDatabase>) {
    this.#db = db;
  }

  /**
   * One transaction, INSERTs of up to INSERT_CHUNK rows. Kysely compiles the statement once per row count and the
   * rows' values are bound straight to it: building and compiling the query of 500 rows for every batch cost
   * more than SQLite's insert itself, on the event loop of a gateway that appends thousands of rows a second.
   */
  async append(rows: readonly SpendRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#db.transaction().execute(async (trx) => {
      for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
        const chunk = rows.slice(start, start + INSERT_CHUNK);
        await trx.executeQuery(CompiledQuery.raw(this.#insertOf(chunk.length), parametersOf(chunk)));
      }
    });
  }

  #insertOf(count: number): string {
    let text = this.#insertSql.get(count);
    if (text === undefined) {
      const compiled = this.#db
        .insertInto("spend_log")
        .values(Array.from({ length: count }, () => toColumns(placeholderRow())))
        .compile();
      // Every value must be a placeholder, in column order, for the values bound later to line up.
      if (compiled.parameters.length !== count * SPEND_COLUMNS.length) {
        throw new Error("spend log: the INSERT does not bind every column of every row");
      }
      text = compiled.sql;
      if (this.#insertSql.size >= 64) this.#insertSql.clear();
      this.#insertSql.set(count, text);
    }
    return text;
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

/** The rows' values, row after row, each in SPEND_COLUMNS order. */
function parametersOf(rows: readonly SpendRow[]): unknown[] {
  const parameters: unknown[] = [];
  for (const row of rows) {
    const columns = toColumns(row);
    for (const column of SPEND_COLUMNS) parameters.push(columns[column]);
  }
  return parameters;
}

/** A row whose only use is to have every column (the INSERT's shape). */
function placeholderRow(): SpendRow {
  return {
    time: "1970-01-01T00:00:00.000Z",
    requestId: "",
    keyId: "",
    keyName: "",
    api: "",
    model: "",
    provider: "",
    upstreamModel: "",
    status: "",
    inputTokens: 0,
    cachedTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    estimated: false,
    latencyMs: 0,
    ttftMs: 0,
  };
}

/** `Date.toISOString()` text as is (what the gateway writes), anything else normalised to it. */
function isoTime(time: string): string {
  return time.length === 24 && time.charCodeAt(23) === 90 /* Z */ && time.charCodeAt(10) === 84 /* T */
    ? time
    : new Date(time).toISOString();
}

function toColumns(row: SpendRow): GovernanceDatabase["spend_log"] {
  return {
    time: isoTime(row.time),
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
