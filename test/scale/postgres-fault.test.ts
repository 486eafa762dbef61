/**
 * PostgreSQL going away under the store, on a server of the test's own (the shared one serves other tests): a
 * query fails within the connect timeout instead of hanging, the pool's idle connections cut by the server do not
 * kill the process, the store's health follows the server, and once the server is back the same store works again;
 * the spend writer in front of it keeps rows while it is down, within its bound, and writes them once it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore, type PostgresStore } from "../../src/governance/postgres-store.ts";
import { SpendWriter } from "../../src/governance/spend-writer.ts";
import { createCapturedLogger } from "../helpers/captured-logger.ts";
import {
  createScratchDatabase,
  type PrivatePostgres,
  startPrivatePostgres,
} from "../helpers/private-postgres.ts";
import { spendRow } from "../helpers/store-contract.ts";

let server: PrivatePostgres;
let store: PostgresStore;
const connectionErrors: Error[] = [];

beforeAll(async () => {
  server = await startPrivatePostgres();
  store = await openPostgresStore(server.url, { onConnectionError: (error) => connectionErrors.push(error) });
}, 60_000);

afterAll(async () => {
  await store?.close();
  await server?.destroy();
});

describe("PostgreSQL stopped and started again under an open store", () => {
  it("fails fast while down, reports it, and works again after the restart", async () => {
    await store.spend.append([spendRow({ requestId: "before" })]);
    await store.keys.version();
    expect(store.health.up()).toBe(true);

    await server.stop();
    const started = performance.now();
    await expect(store.spend.append([spendRow({ requestId: "while-down" })])).rejects.toThrow();
    await expect(store.keys.version()).rejects.toThrow();
    // Two calls, each bounded by the 2 s connect timeout (refused at once here, since nothing listens).
    expect(performance.now() - started).toBeLessThan(6_000);
    expect(store.health.up()).toBe(false);

    await server.start();
    await store.spend.append([spendRow({ requestId: "after" })]);
    expect(store.health.up()).toBe(true);
    const [usage] = await store.spend.usage({ groupBy: "key" });
    expect(usage?.requests).toBe(2);
    // The idle connection the server cut when it stopped was reported, not thrown at the process.
    expect(connectionErrors.length).toBeGreaterThan(0);
  });

  it("survives the server going away in the middle of a query (the connection in use errors, the process lives)", async () => {
    const big = Array.from({ length: 50_000 }, (_, index) => spendRow({ requestId: `big-${index}` }));
    // Settled into a value at once: it fails while the server stops, before anything could await it.
    const appending = store.spend.append(big).then(
      () => "written",
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
    const errorsBefore = connectionErrors.length;
    await server.stop();
    expect(await appending).toBeInstanceOf(Error);
    expect(connectionErrors.length).toBeGreaterThan(errorsBefore);
    expect(store.health.up()).toBe(false);
    await server.start();
    await expect(store.keys.version()).resolves.toBeTypeOf("number");
    expect(store.health.up()).toBe(true);
  });

  it("a query refused by a live server (a duplicate key) leaves the health up", async () => {
    const key = {
      id: "key_dup",
      name: "dup",
      digest: "e".repeat(64),
      keyPrefix: "sk-llmp-eeee",
      models: undefined,
      limits: undefined,
      createdAt: "2026-01-01T00:00:00.000Z",
      expiresAt: undefined,
    };
    await store.keys.create(key);
    await expect(store.keys.create({ ...key, id: "key_dup2" })).rejects.toThrow();
    expect(store.health.up()).toBe(true);
  });
});

describe("the spend writer in front of a PostgreSQL that stops", () => {
  it("keeps rows queued while it is down, drops and counts those past its bound, and writes the rest after", async () => {
    const database = await createScratchDatabase(server.url);
    const writerStore = await openPostgresStore(database.url);
    const { loggerInstance, logs } = createCapturedLogger();
    const writer = new SpendWriter({
      spend: writerStore.spend,
      log: loggerInstance,
      flushIntervalMs: 50,
      batchRows: 10,
      maxQueuedRows: 25,
    });
    try {
      writer.add(spendRow({ requestId: "r0" }));
      await writer.flush();
      await server.stop();
      for (let index = 1; index <= 30; index += 1) writer.add(spendRow({ requestId: `r${index}` }));
      await writer.flush();
      expect(writer.queued).toBe(25);
      expect(writer.dropped).toBe(5);
      expect(logs.map((line) => line.msg)).toContain(
        "spend log: queue full (the store is failing or too slow); rows dropped",
      );
      await server.start();
      await writer.flush();
      expect(writer.queued).toBe(0);
      const [usage] = await writerStore.spend.usage({ groupBy: "key" });
      expect(usage?.requests).toBe(26);
    } finally {
      await writer.close();
      await writerStore.close();
      await database.drop();
    }
  });
});
