/**
 * The governance store's queries, written once with Kysely's query builder over the portable schema
 * (src/governance/sql/tables.ts), so any dialect that ran the migrations can serve them. The PostgreSQL store opens
 * a pool and migrates, then hands its Kysely instance here.
 *
 * Times are ISO 8601 UTC text of one fixed shape, so they compare as text; query bounds are brought to that shape
 * first (a bare `to` date means the end of that day).
 */
import { type Insertable, type Kysely, type Selectable, sql, type Transaction } from "kysely";
import { z } from "zod";
import { keyLimitsSchema } from "./limits.ts";
import type { ApiKeysTable, GovernanceDatabase, SpendLogTable } from "./sql/tables.ts";
import type {
  GovernanceStore,
  KeyPatch,
  KeyStore,
  NewKey,
  SpendLog,
  SpendRow,
  StoredKey,
  UsageQuery,
  UsageRow,
} from "./store.ts";

type Db = Kysely<GovernanceDatabase>;

/** What a stored JSON column may hold: read back through the same schemas that admitted it. */
const modelsSchema = z.array(z.string());

/** PostgreSQL's parameter limit is 65,535 per statement; 16 columns × 1,000 rows stays far below it. */
const APPEND_CHUNK = 1_000;

/** A GovernanceStore over a migrated Kysely database; `close` ends what the opener gave it. */
export function kyselyGovernanceStore(db: Db, close: () => Promise<void>): GovernanceStore {
  return { keys: kyselyKeyStore(db), spend: kyselySpendLog(db), close };
}

export function kyselyKeyStore(db: Db): KeyStore {
  return {
    async create(key: NewKey): Promise<StoredKey> {
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto("api_keys")
          .values({
            id: key.id,
            name: key.name,
            digest: key.digest,
            key_prefix: key.keyPrefix,
            models: key.models === undefined ? null : JSON.stringify(key.models),
            limits: key.limits === undefined ? null : JSON.stringify(key.limits),
            created_at: key.createdAt,
            expires_at: key.expiresAt ?? null,
            revoked_at: null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await bumpVersion(trx);
        return storedKey(row);
      });
    },
    async list(): Promise<StoredKey[]> {
      const rows = await db.selectFrom("api_keys").selectAll().orderBy("created_at").orderBy("id").execute();
      return rows.map(storedKey);
    },
    async get(id: string): Promise<StoredKey | undefined> {
      const row = await db.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst();
      return row === undefined ? undefined : storedKey(row);
    },
    async update(id: string, patch: KeyPatch): Promise<StoredKey | undefined> {
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable("api_keys")
          .set({
            ...(patch.name === undefined ? {} : { name: patch.name }),
            ...(patch.models === undefined
              ? {}
              : { models: patch.models === null ? null : JSON.stringify(patch.models) }),
            ...(patch.limits === undefined
              ? {}
              : { limits: patch.limits === null ? null : JSON.stringify(patch.limits) }),
            ...(patch.expiresAt === undefined ? {} : { expires_at: patch.expiresAt }),
            // Setting the id to itself keeps the statement valid when the patch is empty.
            id,
          })
          .where("id", "=", id)
          .returningAll()
          .executeTakeFirst();
        if (row === undefined) return undefined;
        await bumpVersion(trx);
        return storedKey(row);
      });
    },
    async revoke(id: string): Promise<StoredKey | undefined> {
      return db.transaction().execute(async (trx) => {
        // A second revoke keeps the first time.
        const row = await trx
          .updateTable("api_keys")
          .set((eb) => ({ revoked_at: eb.fn.coalesce("revoked_at", eb.val(new Date().toISOString())) }))
          .where("id", "=", id)
          .returningAll()
          .executeTakeFirst();
        if (row === undefined) return undefined;
        await bumpVersion(trx);
        return storedKey(row);
      });
    },
    async version(): Promise<number> {
      const row = await db
        .selectFrom("key_version")
        .select("version")
        .where("id", "=", 1)
        .executeTakeFirstOrThrow();
      return Number(row.version);
    },
  };
}

/** Every key change bumps the one version row in the change's own transaction (row-locked on PostgreSQL). */
async function bumpVersion(trx: Transaction<GovernanceDatabase>): Promise<void> {
  await trx
    .updateTable("key_version")
    .set((eb) => ({ version: eb("version", "+", 1) }))
    .where("id", "=", 1)
    .execute();
}

function storedKey(row: Selectable<ApiKeysTable>): StoredKey {
  return {
    id: row.id,
    name: row.name,
    digest: row.digest,
    keyPrefix: row.key_prefix,
    models: row.models === null ? undefined : modelsSchema.parse(JSON.parse(row.models)),
    limits: row.limits === null ? undefined : keyLimitsSchema.parse(JSON.parse(row.limits)),
    createdAt: row.created_at,
    expiresAt: row.expires_at ?? undefined,
    revoked: row.revoked_at !== null,
  };
}

export function kyselySpendLog(db: Db): SpendLog {
  return {
    async append(rows: readonly SpendRow[]): Promise<void> {
      if (rows.length === 0) return;
      await db.transaction().execute(async (trx) => {
        for (let start = 0; start < rows.length; start += APPEND_CHUNK) {
          await trx
            .insertInto("spend_log")
            .values(rows.slice(start, start + APPEND_CHUNK).map(spendLogRow))
            .execute();
        }
      });
    },
    usage: (query) => usage(db, query),
    async spentSince(keyId: string, from: string): Promise<number> {
      const row = await db
        .selectFrom("spend_log")
        .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>("cost_usd"), eb.lit(0)).as("spent"))
        .where("key_id", "=", keyId)
        .where("time", ">=", instant(from))
        .executeTakeFirstOrThrow();
      return Number(row.spent);
    },
    async prune(before: string): Promise<number> {
      const result = await db.deleteFrom("spend_log").where("time", "<", instant(before)).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function spendLogRow(row: SpendRow): Insertable<SpendLogTable> {
  return {
    time: row.time,
    request_id: row.requestId,
    key_id: row.keyId ?? null,
    key_name: row.keyName ?? null,
    api: row.api,
    model: row.model ?? null,
    provider: row.provider ?? null,
    upstream_model: row.upstreamModel ?? null,
    status: row.status,
    input_tokens: row.inputTokens,
    cached_tokens: row.cachedTokens,
    output_tokens: row.outputTokens,
    cost_usd: row.costUsd,
    estimated: row.estimated ? 1 : 0,
    latency_ms: Math.round(row.latencyMs),
    ttft_ms: row.ttftMs === undefined ? null : Math.round(row.ttftMs),
  };
}

async function usage(db: Db, query: UsageQuery): Promise<UsageRow[]> {
  let select = db.selectFrom("spend_log");
  if (query.from !== undefined) select = select.where("time", ">=", instant(query.from));
  if (query.to !== undefined) select = select.where("time", "<", instant(query.to, "end of day"));
  if (query.key !== undefined) {
    const key = query.key;
    select = select.where((eb) => eb.or([eb("key_id", "=", key), eb("key_name", "=", key)]));
  }
  if (query.model !== undefined) select = select.where("model", "=", query.model);
  // Sums come back as text from PostgreSQL's bigint and numeric: every one goes through Number().
  const totals = select.select((eb) => [
    eb.fn.countAll<number | string>().as("requests"),
    eb.fn.coalesce(eb.fn.sum<number | string>("input_tokens"), eb.lit(0)).as("input_tokens"),
    eb.fn.coalesce(eb.fn.sum<number | string>("cached_tokens"), eb.lit(0)).as("cached_tokens"),
    eb.fn.coalesce(eb.fn.sum<number | string>("output_tokens"), eb.lit(0)).as("output_tokens"),
    eb.fn.coalesce(eb.fn.sum<number | string>("cost_usd"), eb.lit(0)).as("cost_usd"),
  ]);
  const counts = (row: {
    requests: number | string;
    input_tokens: number | string;
    cached_tokens: number | string;
    output_tokens: number | string;
    cost_usd: number | string;
  }) => ({
    requests: Number(row.requests),
    inputTokens: Number(row.input_tokens),
    cachedTokens: Number(row.cached_tokens),
    outputTokens: Number(row.output_tokens),
    costUsd: Number(row.cost_usd),
  });
  switch (query.groupBy) {
    case "key": {
      // A renamed key keeps one group: its latest name (max) stands for it.
      const rows = await totals
        .select((eb) => ["key_id", eb.fn.max("key_name").as("key_name")])
        .groupBy("key_id")
        .orderBy("key_id")
        .execute();
      return rows.map((row) => ({ keyId: row.key_id, keyName: row.key_name, ...counts(row) }));
    }
    case "model": {
      const rows = await totals.select("model").groupBy("model").orderBy("model").execute();
      return rows.map((row) => ({ model: row.model, ...counts(row) }));
    }
    case "day": {
      // The day of an ISO UTC time is its first ten characters, on every engine.
      const day = sql<string>`substr(${sql.ref("time")}, 1, 10)`;
      const rows = await totals.select(day.as("day")).groupBy(day).orderBy(day).execute();
      return rows.map((row) => ({ day: row.day, ...counts(row) }));
    }
  }
}

const BARE_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * An ISO date or date-time as the stored shape (`2026-01-31T12:00:00.000Z`); a bare date is its day's start, or
 * with "end of day" the next day's start (so an exclusive `to` of a date includes that whole day).
 */
export function instant(text: string, bareDate: "start of day" | "end of day" = "start of day"): string {
  if (BARE_DATE.test(text)) {
    const start = new Date(`${text}T00:00:00.000Z`);
    if (bareDate === "end of day") start.setUTCDate(start.getUTCDate() + 1);
    return start.toISOString();
  }
  const parsed = new Date(text);
  if (Number.isNaN(parsed.getTime())) throw new RangeError(`not an ISO date or date-time: ${text}`);
  return parsed.toISOString();
}
