/**
 * Which governance store a process opens, from `store:`: the embedded SQLite file (the default). Each process
 * (every worker of `server.workers`) opens its own connection; the file or server is what they share.
 */
import type { Config } from "../config/config.ts";
import { openSqliteStore } from "./sqlite-store.ts";
import type { GovernanceStore } from "./store.ts";

/** Opens the configured store, migrated. Throws StoreOpenError (src/governance/store-open-error.ts). */
export async function openGovernanceStore(settings: Config["store"]): Promise<GovernanceStore> {
  return openSqliteStore(settings.path);
}
