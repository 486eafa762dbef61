import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { startRetention } from "../../src/governance/retention.ts";
import { openSqliteStore } from "../../src/governance/sqlite-store.ts";
import type { GovernanceStore, NewKey, SpendRow } from "../../src/governance/store.ts";

const run = promisify(execFile);
const opened: GovernanceStore[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

async function open(path: string): Promise<GovernanceStore> {
  const store = await openSqliteStore(path);
  opened.push(store);
  return store;
}

function tempFile(): string {
  return join(mkdtempSync(join(tmpdir(), "llmp-store-")), "nested", "gw.db");
}

function newKey(id: string, overrides: Partial<NewKey> = {}): NewKey {
  return {
    id,
    name: `name-${id}`,
    digest: id.padEnd(64, "0"),
    keyPrefix: "sk-llmp-abcd",
    models: undefined,
    limits: undefined,
    createdAt: "2026-01-01T00:00:00.000Z",
    expiresAt: undefined,
    ...overrides,
  };
}

function spend(time: string, overrides: Partial<SpendRow> = {}): SpendRow {
  return {
    time,
    requestId: `req-${time}`,
    keyId: "key_a",
    keyName: "team-a",
    api: "chat",
    model: "gpt-4o-mini",
    provider: "openai",
    upstreamModel: "gpt-4o-mini-2024",
    status: "ok",
    inputTokens: 100,
    cachedTokens: 20,
    outputTokens: 10,
    costUsd: 0.5,
    estimated: false,
    latencyMs: 12.4,
    ttftMs: undefined,
    ...overrides,
  };
}

describe("SQLite governance store: keys", () => {
  it("creates, lists, patches and revokes keys, bumping the version on each change", async () => {
    const store = await open(":memory:");
    expect(await store.keys.version()).toBe(0);
    const created = await store.keys.create(
      newKey("key_a", { models: ["gpt-*"], limits: { rpm: 5 }, expiresAt: "2030-01-01T00:00:00.000Z" }),
    );
    expect(created).toMatchObject({ id: "key_a", models: ["gpt-*"], limits: { rpm: 5 }, revoked: false });
    await store.keys.create(newKey("key_b", { createdAt: "2026-01-02T00:00:00.000Z" }));
    expect(await store.keys.version()).toBe(2);
    expect((await store.keys.list()).map((key) => key.id)).toEqual(["key_a", "key_b"]);

    const patched = await store.keys.update("key_a", { name: "renamed", models: null, expiresAt: null });
    expect(patched).toMatchObject({
      name: "renamed",
      models: undefined,
      expiresAt: undefined,
      limits: { rpm: 5 },
    });
    expect(await store.keys.version()).toBe(3);
    expect(await store.keys.update("key_missing", { name: "x" })).toBeUndefined();

    expect(await store.keys.revoke("key_a")).toMatchObject({ revoked: true });
    expect(await store.keys.version()).toBe(4);
    // Revoking again changes nothing, so the caches have nothing to reload.
    expect(await store.keys.revoke("key_a")).toMatchObject({ revoked: true });
    expect(await store.keys.version()).toBe(4);
    expect(await store.keys.revoke("key_missing")).toBeUndefined();
    expect(await store.keys.get("key_b")).toMatchObject({ revoked: false, digest: "key_b".padEnd(64, "0") });
  });

  it("rejects a second key with the same digest", async () => {
    const store = await open(":memory:");
    await store.keys.create(newKey("key_a"));
    await expect(store.keys.create(newKey("key_x", { digest: "key_a".padEnd(64, "0") }))).rejects.toThrow(
      /UNIQUE/,
    );
    expect(await store.keys.version()).toBe(1);
  });

  it("keeps keys, revocations and spend across a reopen of the same file", async () => {
    const path = tempFile();
    const first = await openSqliteStore(path);
    await first.keys.create(newKey("key_a"));
    await first.keys.create(newKey("key_b"));
    await first.keys.revoke("key_b");
    await first.spend.append([spend("2026-03-01T10:00:00.000Z")]);
    await first.close();

    const second = await open(path);
    expect((await second.keys.list()).map((key) => [key.id, key.revoked])).toEqual([
      ["key_a", false],
      ["key_b", true],
    ]);
    expect(await second.keys.version()).toBe(3);
    expect(await second.spend.spentSince("key_a", "2026-03-01")).toBe(0.5);
  });
});

describe("SQLite governance store: spend log", () => {
  async function seeded(): Promise<GovernanceStore> {
    const store = await open(":memory:");
    await store.spend.append([
      spend("2026-03-01T10:00:00.000Z"),
      spend("2026-03-01T23:59:59.999Z", { model: "claude-3", costUsd: 1.25, outputTokens: 30 }),
      spend("2026-03-02T00:00:00.000Z", { keyId: "key_b", keyName: "team-b", costUsd: null }),
      spend("2026-03-03T08:00:00.000Z", { keyId: undefined, keyName: undefined, estimated: true }),
    ]);
    return store;
  }

  it("groups by key, model and day with every total", async () => {
    const store = await seeded();
    expect(await store.spend.usage({ groupBy: "key" })).toEqual([
      {
        keyId: null,
        keyName: null,
        requests: 1,
        inputTokens: 100,
        cachedTokens: 20,
        outputTokens: 10,
        costUsd: 0.5,
      },
      {
        keyId: "key_a",
        keyName: "team-a",
        requests: 2,
        inputTokens: 200,
        cachedTokens: 40,
        outputTokens: 40,
        costUsd: 1.75,
      },
      // A request without a price adds tokens, not cost.
      {
        keyId: "key_b",
        keyName: "team-b",
        requests: 1,
        inputTokens: 100,
        cachedTokens: 20,
        outputTokens: 10,
        costUsd: 0,
      },
    ]);
    expect((await store.spend.usage({ groupBy: "model" })).map((row) => [row.model, row.requests])).toEqual([
      ["claude-3", 1],
      ["gpt-4o-mini", 3],
    ]);
    expect((await store.spend.usage({ groupBy: "day" })).map((row) => [row.day, row.requests])).toEqual([
      ["2026-03-01", 2],
      ["2026-03-02", 1],
      ["2026-03-03", 1],
    ]);
  });

  it("filters by from (inclusive), to (exclusive; a bare date is the whole day), key id or name, model", async () => {
    const store = await seeded();
    const days = async (query: Parameters<GovernanceStore["spend"]["usage"]>[0]) =>
      (await store.spend.usage(query)).map((row) => [row.day, row.requests]);
    expect(await days({ groupBy: "day", from: "2026-03-02", to: "2026-03-02" })).toEqual([["2026-03-02", 1]]);
    expect(await days({ groupBy: "day", to: "2026-03-01T23:59:59.999Z" })).toEqual([["2026-03-01", 1]]);
    // Offsets and missing milliseconds are normalised before the text comparison.
    expect(await days({ groupBy: "day", from: "2026-03-02T02:00:00+02:00" })).toEqual([
      ["2026-03-02", 1],
      ["2026-03-03", 1],
    ]);
    expect(await days({ groupBy: "day", key: "team-a" })).toEqual([["2026-03-01", 2]]);
    expect(await days({ groupBy: "day", key: "key_b" })).toEqual([["2026-03-02", 1]]);
    expect(await days({ groupBy: "day", model: "claude-3" })).toEqual([["2026-03-01", 1]]);
    await expect(store.spend.usage({ groupBy: "day", from: "yesterday" })).rejects.toThrow(RangeError);
  });

  it("sums a key's spend since a time and prunes rows before a time", async () => {
    const store = await seeded();
    expect(await store.spend.spentSince("key_a", "2026-03-01T12:00:00Z")).toBe(1.25);
    expect(await store.spend.spentSince("key_unknown", "2020-01-01")).toBe(0);
    expect(await store.spend.prune("2026-03-02T00:00:00.000Z")).toBe(2);
    expect((await store.spend.usage({ groupBy: "day" })).map((row) => row.day)).toEqual([
      "2026-03-02",
      "2026-03-03",
    ]);
  });

  it("appends a large batch in one transaction", async () => {
    const store = await open(":memory:");
    const rows = Array.from({ length: 1234 }, (_, index) =>
      spend(new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(), { requestId: `r${index}` }),
    );
    await store.spend.append(rows);
    expect(await store.spend.usage({ groupBy: "key" })).toMatchObject([
      { requests: 1234, inputTokens: 123_400 },
    ]);
  });

  it("prunes at start when retention_days is set", async () => {
    const store = await open(":memory:");
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    const recent = new Date(Date.now() - 5 * 86_400_000).toISOString();
    await store.spend.append([spend(old), spend(recent)]);
    const logged: object[] = [];
    const retention = startRetention(store.spend, 30, {
      info: (entry) => logged.push(entry),
      warn: () => {},
    });
    await expect.poll(() => logged.length).toBe(1);
    retention.stop();
    expect(logged[0]).toMatchObject({ deleted: 1 });
    expect(await store.spend.usage({ groupBy: "key" })).toMatchObject([{ requests: 1 }]);
  });
});

describe("SQLite governance store: opening", () => {
  it("refuses a damaged file with an error naming the path and the cause, and leaves the file as it was", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "llmp-store-")), "gw.db");
    const garbage = "not a database ".repeat(500);
    writeFileSync(path, garbage);
    const error = await openSqliteStore(path).catch((caught: unknown) => caught);
    expect(String(error)).toContain(`store ${path}:`);
    expect(String(error)).toMatch(/not a database.*damaged/);
    // Nothing was overwritten: the operator can still inspect or restore it.
    expect(readFileSync(path, "utf8")).toBe(garbage);
  });

  it("refuses a path whose folder cannot be created, naming the folder", async () => {
    const root = mkdtempSync(join(tmpdir(), "llmp-store-"));
    writeFileSync(join(root, "a-file"), "");
    await expect(openSqliteStore(join(root, "a-file", "gw.db"))).rejects.toThrow(
      `cannot create its folder ${join(root, "a-file")}`,
    );
  });

  it("migrates once when two processes open a new file at the same time", async () => {
    const path = tempFile();
    const script = `
      const { openSqliteStore } = await import(${JSON.stringify(new URL("../../src/governance/sqlite-store.ts", import.meta.url).href)});
      const store = await openSqliteStore(${JSON.stringify(path)});
      await store.keys.create({ id: "key_" + process.pid, name: "p", digest: String(process.pid).padEnd(64, "0"),
        keyPrefix: "sk", models: undefined, limits: undefined, createdAt: new Date().toISOString(), expiresAt: undefined });
      await store.close();`;
    await Promise.all(
      [1, 2].map(() => run(process.execPath, ["--input-type=module", "--eval", script], { timeout: 15_000 })),
    );
    const store = await open(path);
    expect(await store.keys.list()).toHaveLength(2);
    expect(await store.keys.version()).toBe(2);
  });
});
