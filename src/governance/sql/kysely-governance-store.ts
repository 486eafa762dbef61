/**
 * The key store and spend log over one migrated Kysely database: what the SQLite and PostgreSQL stores share once
 * their engine is open. Closing destroys the database once, however many callers close it.
 */
import type { Kysely } from "kysely";
import type { GovernanceStore } from "../store.ts";
import { KyselyKeyStore } from "./kysely-key-store.ts";
import { KyselySpendLog } from "./kysely-spend-log.ts";
import type { GovernanceDatabase } from "./tables.ts";

export function kyselyGovernanceStore(db: Kysely<GovernanceDatabase>): GovernanceStore {
  let closed: Promise<void> | undefined;
  return {
    keys: new KyselyKeyStore(db),
    spend: new KyselySpendLog(db),
    close: () => {
      closed ??= db.destroy();
      return closed;
    },
  };
}
