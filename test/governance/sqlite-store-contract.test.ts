/**
 * The embedded SQLite store answers the same GovernanceStore contract as the PostgreSQL store
 * (test/scale/postgres-store.test.ts runs it there), each test on a fresh in-memory database.
 */
import { openSqliteStore } from "../../src/governance/sqlite-store.ts";
import { describeStoreContract } from "../helpers/store-contract.ts";

describeStoreContract("SQLite", async () => {
  const store = await openSqliteStore(":memory:");
  return { store, dispose: () => store.close() };
});
