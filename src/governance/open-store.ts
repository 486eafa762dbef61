/**
 * Which governance store a process opens, from `store:`: PostgreSQL when `store.postgres_url` is set (many
 * replicas share it), else the embedded SQLite file (the default). Each process (every worker of `server.workers`)
 * opens its own connection; the file or server is what they share.
 */
import type { Config } from "../config/config.ts";
import { openPostgresStore } from "./postgres-store.ts";
import { openSqliteStore } from "./sqlite-store.ts";
import type { GovernanceStore } from "./store.ts";
import type { StoreHealth } from "./store-health.ts";

/** The store, and for a shared one (PostgreSQL) its health for `/ready` and `llm_proxy_store_up`. */
export type OpenedStore = GovernanceStore & { readonly health?: StoreHealth };

/** Opens the configured store, migrated. Throws StoreOpenError (src/governance/store-open-error.ts). */
export async function openGovernanceStore(settings: Config["store"]): Promise<OpenedStore> {
  if (settings.postgresUrl !== undefined) return openPostgresStore(settings.postgresUrl);
  return openSqliteStore(settings.path);
}
