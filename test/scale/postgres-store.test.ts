/**
 * The PostgreSQL governance store against the shared server (127.0.0.1:5432): the store contract every store
 * answers, each test in a fresh database; and migrations run by many stores at once (replicas starting together).
 */
import { type AddressInfo, createServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore, POSTGRES_POOL_SETTINGS } from "../../src/governance/postgres-store.ts";
import { GOVERNANCE_MIGRATIONS } from "../../src/governance/sql/migrations.ts";
import { createScratchDatabase, queryRows, type ScratchDatabase } from "../helpers/private-postgres.ts";
import { describeStoreContract } from "../helpers/store-contract.ts";

describeStoreContract("PostgreSQL", async () => {
  const database = await createScratchDatabase();
  const store = await openPostgresStore(database.url);
  return {
    store,
    dispose: async () => {
      await store.close();
      await database.drop();
    },
  };
});

describe("PostgreSQL store migrations", () => {
  let database: ScratchDatabase;
  beforeAll(async () => {
    database = await createScratchDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it("eight stores opening one empty database at once migrate it once, without an error", async () => {
    const stores = await Promise.all(Array.from({ length: 8 }, () => openPostgresStore(database.url)));
    try {
      const [first, ...others] = stores;
      if (first === undefined) throw new Error("no store");
      await first.keys.create({
        id: "key_shared",
        name: "shared",
        digest: "d".repeat(64),
        keyPrefix: "sk-llmp-dddd",
        models: undefined,
        limits: undefined,
        createdAt: "2026-01-01T00:00:00.000Z",
        expiresAt: undefined,
      });
      for (const other of others)
        expect((await other.keys.list()).map((key) => key.id)).toEqual(["key_shared"]);
      const migrated = await queryRows(database.url, "SELECT name FROM kysely_migration");
      expect(migrated.map((row) => row.name)).toEqual(Object.keys(GOVERNANCE_MIGRATIONS));
      // Opening again later finds nothing to do and keeps the data.
      const again = await openPostgresStore(database.url);
      expect(await again.keys.get("key_shared")).toMatchObject({ name: "shared" });
      expect(await again.keys.version()).toBe(await first.keys.version());
      await again.close();
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it("fails to open with an error naming the server (not its password) when nothing listens there", async () => {
    const started = performance.now();
    await expect(openPostgresStore("postgres://user:hunter2@127.0.0.1:1/none")).rejects.toThrow(
      /^store PostgreSQL at 127\.0\.0\.1:1\/none: unavailable or unusable \(.*ECONNREFUSED/,
    );
    await expect(openPostgresStore("postgres://user:hunter2@127.0.0.1:1/none")).rejects.not.toThrow(
      /hunter2/,
    );
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("gives up within the connect timeout on a server that accepts connections and never answers", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    const started = performance.now();
    try {
      await expect(openPostgresStore(`postgres://postgres@127.0.0.1:${port}/none`)).rejects.toThrow(
        /unavailable or unusable \(.*timeout/i,
      );
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(POSTGRES_POOL_SETTINGS.connectionTimeoutMillis - 100);
      expect(took).toBeLessThan(POSTGRES_POOL_SETTINGS.connectionTimeoutMillis + 3_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
