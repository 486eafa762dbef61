/**
 * The governance tables as Kysely sees them. Kysely is a typed query builder with dialects for SQLite and
 * PostgreSQL: one schema, one set of migrations and one set of queries serve the embedded SQLite store and the
 * PostgreSQL store, and the compiler checks every column name and type (an ORM would add a model layer, raw SQL
 * strings would be written twice and checked by nothing).
 *
 * Types are chosen to mean the same on both engines:
 * - times are ISO 8601 UTC text (`2026-01-31T12:00:00.000Z`): they sort as text, and a day is its first 10
 *   characters on both engines without date functions that differ;
 * - booleans are integers 0/1 (`node:sqlite` binds no JS boolean; PostgreSQL compares integers the same way);
 *   a key's revocation is a nullable time, so it needs none;
 * - lists and objects (models, limits) are JSON text, read back through zod;
 * - tokens and milliseconds are `integer` (32-bit on PostgreSQL: one request's counts stay far below 2^31; sums
 *   are computed by the engine and may come back as text from PostgreSQL's bigint, so readers wrap them in
 *   Number()); cost is `double precision` (REAL affinity in SQLite).
 */
export interface ApiKeysTable {
  /** `key_<random>`: stable, never reused, what the admin API and the spend log name. */
  id: string;
  name: string;
  /** Hex SHA-256 of the secret; unique. */
  digest: string;
  key_prefix: string;
  /** JSON array of model patterns; null: every model. */
  models: string | null;
  /** JSON object of limits (src/governance/limits.ts); null: none. */
  limits: string | null;
  created_at: string;
  expires_at: string | null;
  /** When it was revoked; null: active. */
  revoked_at: string | null;
}

/** One row (id 1): a number bumped by every key change, so processes know when to reload their key cache. */
export interface KeyVersionTable {
  id: number;
  version: number;
}

/** One row per request. No primary key of its own: rows are only appended, aggregated and pruned by time. */
export interface SpendLogTable {
  time: string;
  request_id: string;
  key_id: string | null;
  key_name: string | null;
  api: string;
  model: string | null;
  provider: string | null;
  upstream_model: string | null;
  status: string;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  /** USD; null when the model has no price. */
  cost_usd: number | null;
  /** 1 when the usage was estimated (an abandoned or failed stream without the vendor's usage). */
  estimated: number;
  latency_ms: number;
  ttft_ms: number | null;
}

export interface GovernanceDatabase {
  api_keys: ApiKeysTable;
  key_version: KeyVersionTable;
  spend_log: SpendLogTable;
}
