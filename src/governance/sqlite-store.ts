/**
 * The embedded governance store: one SQLite file through `node:sqlite` (built into Node 24), shared by every worker
 * process of the machine. WAL journaling lets readers (each worker's key-cache poll) run while one writer
 * appends, and the busy timeout makes a second writer wait its turn instead of failing. `node:sqlite` is
 * synchronous, so nothing here runs on a request's path: keys are read through the key cache and spend rows are
 * written in batches.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Kysely } from "kysely";
import { kyselyGovernanceStore } from "./sql/kysely-governance-store.ts";
import { migrateGovernance } from "./sql/migrations.ts";
import { NodeSqliteDialect } from "./sql/node-sqlite-dialect.ts";
import type { GovernanceDatabase } from "./sql/tables.ts";
import type { GovernanceStore } from "./store.ts";
import { StoreOpenError } from "./store-open-error.ts";

/** How long a writer waits for another process's write transaction (they last milliseconds). */
const BUSY_TIMEOUT_MS = 5000;

/** SQLite's primary result codes that mean "this file is damaged or is something else". */
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

/**
 * Opens (creating when absent) the store at `path` (absolute, or `:memory:`), migrated to the latest schema.
 * Throws StoreOpenError naming the path and the cause.
 */
export async function openSqliteStore(path: string): Promise<GovernanceStore> {
  if (path !== ":memory:") ensureFolder(path);
  let database: DatabaseSync;
  try {
    database = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
  } catch (error) {
    throw new StoreOpenError(path, `cannot open the SQLite file (${describe(error)})`, error);
  }
  const db = new Kysely<GovernanceDatabase>({ dialect: new NodeSqliteDialect(database) });
  try {
    // Reading the journal mode reads the file's header: a damaged or foreign file fails here, not later.
    database.exec("PRAGMA journal_mode = WAL");
    // In WAL mode NORMAL never corrupts the file; a power cut may lose the last transactions, not more.
    database.exec("PRAGMA synchronous = NORMAL");
    await migrateGovernance(db);
  } catch (error) {
    await db.destroy();
    throw new StoreOpenError(path, describe(error), error);
  }
  return kyselyGovernanceStore(db);
}

function ensureFolder(path: string): void {
  const folder = dirname(path);
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw new StoreOpenError(path, `cannot create its folder ${folder} (${describe(error)})`, error);
  }
}

/** The cause in words: SQLite's message, with what a damaged file means spelled out. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const errcode = "errcode" in error && typeof error.errcode === "number" ? error.errcode & 0xff : undefined;
  if (errcode === SQLITE_NOTADB || errcode === SQLITE_CORRUPT) {
    return `${error.message}: the file is damaged or is not a SQLite database; move it aside (the gateway creates a new one) or restore it from a backup`;
  }
  return error.message;
}
