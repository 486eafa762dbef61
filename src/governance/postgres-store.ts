/**
 * The governance store on PostgreSQL (`store.postgres_url`), for many replicas sharing keys and the spend log.
 * Kysely's PostgresDialect over a `pg` pool runs the same migrations and queries (src/governance/sql/) as the
 * embedded SQLite store.
 *
 * Opening migrates through Kysely's Migrator, which on PostgreSQL holds a session advisory lock
 * (`pg_advisory_lock`) on one connection around the pending migrations, run in one transaction: replicas that
 * start together queue on it, the first migrates, the others find nothing left to do. Its bookkeeping tables are
 * created before the lock, with a check again after a failed create, so a lost race there is no error either
 * (test/scale/postgres-store.test.ts opens several stores on one empty database at once).
 *
 * A PostgreSQL that is unreachable at start fails the start with a message naming the server (an orchestrator
 * restarts the replica); one that goes away later makes each query fail within the connect timeout instead of
 * hanging, and the pool reconnects by itself once the server is back.
 */
import { Kysely, PostgresDialect, type PostgresPool } from "kysely";
import pg from "pg";
import { ProxyError } from "../core/errors.ts";
import { kyselyGovernanceStore } from "./sql/kysely-governance-store.ts";
import { migrateGovernance } from "./sql/migrations.ts";
import type { GovernanceDatabase } from "./sql/tables.ts";
import type { GovernanceStore } from "./store.ts";
import type { StoreHealth } from "./store-health.ts";
import { StoreOpenError } from "./store-open-error.ts";

/**
 * A short connect timeout so a request path that reaches the store (admin API, the writer's flush) fails fast
 * while PostgreSQL is down; a query timeout so a stuck server cannot hold a connection forever.
 */
export const POSTGRES_POOL_SETTINGS = {
  max: 10,
  connectionTimeoutMillis: 2_000,
  idleTimeoutMillis: 30_000,
  query_timeout: 10_000,
  keepAlive: true,
  application_name: "llm-proxy",
} as const;

export interface PostgresStoreOptions {
  /** Told about a pooled connection the server cut (it went away); the pool drops it. */
  readonly onConnectionError?: (error: Error) => void;
}

/** The store, and whether PostgreSQL answered its latest query (for `/ready` and `llm_proxy_store_up`). */
export interface PostgresStore extends GovernanceStore {
  readonly health: StoreHealth;
}

/**
 * Connects, migrates to the latest schema and returns the store. Throws StoreOpenError naming the server
 * (`host:port/database`, never the password in the URL) and the cause.
 */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  const pool = new pg.Pool({ connectionString: url, ...POSTGRES_POOL_SETTINGS });
  // Every query's outcome says whether the server answers; the key cache's poll (every 250 ms) keeps it fresh.
  let up = true;
  let opened = false;
  // A connection the server cuts emits 'error' on its client, idle in the pool or in use by a query: without a
  // listener that is an uncaught exception and the process dies. The pool re-emits idle clients' errors on itself,
  // so it needs one too; the query in flight fails on its own, and the pool drops the dead client.
  pool.on("connect", (client) =>
    client.on("error", (error) => {
      up = false;
      options.onConnectionError?.(error);
    }),
  );
  pool.on("error", () => undefined);
  // A connection that cannot be had is no query to log: the pool's connect reports it.
  const trackedPool: PostgresPool = {
    options: pool.options,
    connect: async () => {
      try {
        return await pool.connect();
      } catch (error) {
        up = false;
        // At start the cause goes into StoreOpenError; once serving, the admin API answers 503, not a 500.
        throw opened ? postgresUnreachable(error) : error;
      }
    },
    end: () => pool.end(),
  };
  const db = new Kysely<GovernanceDatabase>({
    dialect: new PostgresDialect({ pool: trackedPool }),
    log: (event) => {
      up = event.level === "query" || answeredByServer(event.error);
    },
  });
  try {
    await migrateGovernance(db);
  } catch (error) {
    await db.destroy().catch(() => undefined);
    const cause = error instanceof Error ? error.message : String(error);
    throw new StoreOpenError(
      `PostgreSQL at ${describeServer(url)}`,
      `unavailable or unusable (${cause})`,
      error,
    );
  }
  opened = true;
  return {
    // Keys are served from each replica's cache and spend rows wait in the writer's buffer while PostgreSQL is
    // down, so it never makes the replica unready: `/ready` says degraded, the gauge says 0.
    health: { store: "postgres", up: () => up, failMode: () => "open" },
    ...kyselyGovernanceStore(db),
  };
}

/** PostgreSQL cannot be reached while serving: 503 `store_unavailable` for the admin API, the cause for logs. */
function postgresUnreachable(cause: unknown): ProxyError {
  return new ProxyError(
    "overloaded",
    "The gateway cannot reach its key and spend-log store (PostgreSQL); try again shortly.",
    { code: "store_unavailable", retryAfterMs: 1000, cause },
  );
}

/**
 * Whether a failed query was refused by a server that answered (a constraint, a syntax error), as opposed to no
 * server: refused connections, timeouts, cut connections, and the server's own "shutting down" (SQLSTATE 57P) or
 * connection-class (08) errors.
 */
function answeredByServer(error: unknown): boolean {
  if (!(error instanceof pg.DatabaseError)) return false;
  const code = error.code ?? "";
  return !code.startsWith("08") && !code.startsWith("57P");
}

/** `host:port/database` of a PostgreSQL URL (the user and password left out). */
export function describeServer(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}
