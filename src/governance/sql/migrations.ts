/**
 * The governance schema's migrations, written with Kysely's schema builder only (no raw SQL), so the same list
 * runs on SQLite and PostgreSQL (column types: src/governance/sql/tables.ts). Each store runs them at open through
 * Kysely's Migrator, inside its engine's lock, so processes or replicas that start together migrate once.
 * A migration, once released, never changes: a change to the schema is a new entry at the end.
 */
import { type Kysely, sql } from "kysely";
import { type Migration, type MigrationProvider, Migrator } from "kysely/migration";

/** Migrations take `Kysely<unknown>`: they describe the schema as it was then, not as tables.ts says it is now. */
const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("api_keys")
      .addColumn("id", "text", (column) => column.primaryKey())
      .addColumn("name", "text", (column) => column.notNull())
      .addColumn("digest", "text", (column) => column.notNull().unique())
      .addColumn("key_prefix", "text", (column) => column.notNull())
      .addColumn("models", "text")
      .addColumn("limits", "text")
      .addColumn("created_at", "text", (column) => column.notNull())
      .addColumn("expires_at", "text")
      .addColumn("revoked_at", "text")
      .execute();
    await db.schema
      .createTable("key_version")
      .addColumn("id", "integer", (column) => column.primaryKey())
      .addColumn("version", "integer", (column) => column.notNull())
      .execute();
    await db
      .withTables<{ key_version: { id: number; version: number } }>()
      .insertInto("key_version")
      .values({ id: 1, version: 0 })
      .execute();
    await db.schema
      .createTable("spend_log")
      .addColumn("time", "text", (column) => column.notNull())
      .addColumn("request_id", "text", (column) => column.notNull())
      .addColumn("key_id", "text")
      .addColumn("key_name", "text")
      .addColumn("api", "text", (column) => column.notNull())
      .addColumn("model", "text")
      .addColumn("provider", "text")
      .addColumn("upstream_model", "text")
      .addColumn("status", "text", (column) => column.notNull())
      .addColumn("input_tokens", "integer", (column) => column.notNull())
      .addColumn("cached_tokens", "integer", (column) => column.notNull())
      .addColumn("output_tokens", "integer", (column) => column.notNull())
      .addColumn("cost_usd", "double precision")
      .addColumn("estimated", "integer", (column) => column.notNull().defaultTo(sql.lit(0)))
      .addColumn("latency_ms", "integer", (column) => column.notNull())
      .addColumn("ttft_ms", "integer")
      .execute();
    // Usage reports and pruning filter by time; budgets and per-key reports by key and time.
    await db.schema.createIndex("spend_log_time").on("spend_log").column("time").execute();
    await db.schema.createIndex("spend_log_key_time").on("spend_log").columns(["key_id", "time"]).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("spend_log").execute();
    await db.schema.dropTable("key_version").execute();
    await db.schema.dropTable("api_keys").execute();
  },
};

/** Every migration by name; names sort in the order they run. */
export const GOVERNANCE_MIGRATIONS: Readonly<Record<string, Migration>> = {
  "0001_initial": initial,
};

/** The list for Kysely's Migrator (`new Migrator({ db, provider: governanceMigrations })`). */
export const governanceMigrations: MigrationProvider = {
  getMigrations: async () => ({ ...GOVERNANCE_MIGRATIONS }),
};

/**
 * Brings a database to the latest schema through Kysely's Migrator (its lock or transaction keeps processes that
 * start together from migrating twice). Throws an Error naming the failed migration and its cause.
 */
export async function migrateGovernance<Database>(db: Kysely<Database>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider: governanceMigrations }).migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((result) => result.status === "Error")?.migrationName;
  const cause = error instanceof Error ? error.message : String(error);
  throw new Error(`${failed === undefined ? "the migrations" : `migration ${failed}`} failed: ${cause}`, {
    cause: error,
  });
}
