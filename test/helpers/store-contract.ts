/**
 * The GovernanceStore contract (src/governance/store.ts) as one set of tests that every store runs: the embedded
 * SQLite store and the PostgreSQL store must answer alike. `describeStoreContract(name, open)` registers them;
 * `open` returns a fresh, empty, migrated store and its disposal.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GovernanceStore, NewKey, SpendRow } from "../../src/governance/store.ts";

export interface OpenedStore {
  readonly store: GovernanceStore;
  /** Closes the store and removes what it kept (file, database). */
  dispose(): Promise<void>;
}

let sequence = 0;

export function newKey(overrides: Partial<NewKey> = {}): NewKey {
  sequence += 1;
  return {
    id: `key_${sequence}_${Math.random().toString(36).slice(2, 8)}`,
    name: `team-${sequence}`,
    digest: `${sequence}`.padStart(64, "0") + Math.random().toString(16).slice(2),
    keyPrefix: "sk-llmp-ab12",
    models: undefined,
    limits: undefined,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, sequence)).toISOString(),
    expiresAt: undefined,
    ...overrides,
  };
}

export function spendRow(overrides: Partial<SpendRow> = {}): SpendRow {
  return {
    time: "2026-03-01T10:00:00.000Z",
    requestId: `req_${Math.random().toString(36).slice(2)}`,
    keyId: "key_a",
    keyName: "team-a",
    api: "chat",
    model: "gpt-4o-mini",
    provider: "openai",
    upstreamModel: "gpt-4o-mini-2024-07-18",
    status: "ok",
    inputTokens: 100,
    cachedTokens: 20,
    outputTokens: 50,
    costUsd: 0.25,
    estimated: false,
    latencyMs: 120,
    ttftMs: 40,
    ...overrides,
  };
}

export function describeStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`${name}: GovernanceStore contract`, () => {
    let opened: OpenedStore;
    beforeEach(async () => {
      opened = await open();
    });
    afterEach(async () => {
      await opened.dispose();
    });

    it("creates keys and reads them back by id and in a list, oldest first, secrets never stored", async () => {
      const { keys } = opened.store;
      const second = newKey({ createdAt: "2026-01-02T00:00:00.000Z" });
      const first = newKey({
        createdAt: "2026-01-01T00:00:00.000Z",
        models: ["gpt-4o-mini", "claude-*"],
        limits: { rpm: 60, budget_usd: 5, budget_period: "daily" },
        expiresAt: "2027-01-01T00:00:00.000Z",
      });
      const created = await keys.create(second);
      await keys.create(first);
      expect(created).toEqual({ ...second, revoked: false });
      expect(await keys.get(first.id)).toEqual({ ...first, revoked: false });
      expect((await keys.list()).map((key) => key.id)).toEqual([first.id, second.id]);
      expect(await keys.get("key_missing")).toBeUndefined();
    });

    it("refuses a second key with the same digest", async () => {
      const key = newKey();
      await opened.store.keys.create(key);
      await expect(opened.store.keys.create(newKey({ digest: key.digest }))).rejects.toThrow();
    });

    it("updates what a patch names, clears with null, and leaves the rest", async () => {
      const { keys } = opened.store;
      const key = newKey({ models: ["a"], limits: { rpm: 5 }, expiresAt: "2027-01-01T00:00:00.000Z" });
      await keys.create(key);
      const renamed = await keys.update(key.id, { name: "renamed", limits: { tpm: 1000 } });
      expect(renamed).toMatchObject({ name: "renamed", models: ["a"], limits: { tpm: 1000 } });
      const cleared = await keys.update(key.id, { models: null, limits: null, expiresAt: null });
      expect(cleared).toMatchObject({
        name: "renamed",
        models: undefined,
        limits: undefined,
        expiresAt: undefined,
      });
      expect(await keys.get(key.id)).toEqual(cleared);
      expect(await keys.update("key_missing", { name: "x" })).toBeUndefined();
    });

    it("revokes a key, keeping it in the list", async () => {
      const { keys } = opened.store;
      const key = newKey();
      await keys.create(key);
      expect(await keys.revoke(key.id)).toMatchObject({ id: key.id, revoked: true });
      expect(await keys.revoke(key.id)).toMatchObject({ id: key.id, revoked: true });
      expect((await keys.list()).map((listed) => [listed.id, listed.revoked])).toEqual([[key.id, true]]);
      expect(await keys.revoke("key_missing")).toBeUndefined();
    });

    it("grows the version with every change to a key, and only then", async () => {
      const { keys } = opened.store;
      const start = await keys.version();
      const key = newKey();
      await keys.create(key);
      const afterCreate = await keys.version();
      expect(afterCreate).toBeGreaterThan(start);
      await keys.list();
      await keys.get(key.id);
      expect(await keys.version()).toBe(afterCreate);
      await keys.update(key.id, { name: "other" });
      const afterUpdate = await keys.version();
      expect(afterUpdate).toBeGreaterThan(afterCreate);
      await keys.revoke(key.id);
      expect(await keys.version()).toBeGreaterThan(afterUpdate);
    });

    it("appends spend rows and aggregates them by key, model and UTC day", async () => {
      const { spend } = opened.store;
      await spend.append([
        spendRow({ time: "2026-03-01T10:00:00.000Z" }),
        spendRow({ time: "2026-03-01T23:59:59.999Z", model: "claude-haiku", costUsd: 0.5, estimated: true }),
        spendRow({ time: "2026-03-02T00:00:00.000Z", keyId: "key_b", keyName: "team-b", costUsd: null }),
        spendRow({
          time: "2026-03-02T08:00:00.000Z",
          keyId: undefined,
          keyName: undefined,
          ttftMs: undefined,
        }),
      ]);
      await spend.append([]);
      const sums = { inputTokens: 100, cachedTokens: 20, outputTokens: 50 };
      expect(await spend.usage({ groupBy: "key" })).toEqual(
        expect.arrayContaining([
          { keyId: "key_a", keyName: "team-a", requests: 2, ...twice(sums), costUsd: 0.75 },
          { keyId: "key_b", keyName: "team-b", requests: 1, ...sums, costUsd: 0 },
          { keyId: null, keyName: null, requests: 1, ...sums, costUsd: 0.25 },
        ]),
      );
      expect(await spend.usage({ groupBy: "model" })).toEqual(
        expect.arrayContaining([
          { model: "claude-haiku", requests: 1, ...sums, costUsd: 0.5 },
          { model: "gpt-4o-mini", requests: 3, ...thrice(sums), costUsd: 0.5 },
        ]),
      );
      expect(await spend.usage({ groupBy: "day" })).toEqual([
        { day: "2026-03-01", requests: 2, ...twice(sums), costUsd: 0.75 },
        { day: "2026-03-02", requests: 2, ...twice(sums), costUsd: 0.25 },
      ]);
    });

    it("filters usage by from (inclusive), to (exclusive; a bare date is its whole day), key id or name, model", async () => {
      const { spend } = opened.store;
      await spend.append([
        spendRow({ time: "2026-03-01T10:00:00.000Z" }),
        spendRow({ time: "2026-03-02T10:00:00.000Z", keyId: "key_b", keyName: "team-b" }),
        spendRow({ time: "2026-03-03T10:00:00.000Z", model: "other" }),
      ]);
      const days = async (query: Parameters<typeof spend.usage>[0]) =>
        (await spend.usage(query)).map((row) => [row.day, row.requests]);
      expect(await days({ groupBy: "day", from: "2026-03-02" })).toEqual([
        ["2026-03-02", 1],
        ["2026-03-03", 1],
      ]);
      expect(await days({ groupBy: "day", to: "2026-03-02" })).toEqual([
        ["2026-03-01", 1],
        ["2026-03-02", 1],
      ]);
      expect(await days({ groupBy: "day", to: "2026-03-02T10:00:00.000Z" })).toEqual([["2026-03-01", 1]]);
      expect(await days({ groupBy: "day", key: "team-b" })).toEqual([["2026-03-02", 1]]);
      expect(await days({ groupBy: "day", key: "key_a" })).toEqual([
        ["2026-03-01", 1],
        ["2026-03-03", 1],
      ]);
      expect(await days({ groupBy: "day", model: "other" })).toEqual([["2026-03-03", 1]]);
      expect(await spend.usage({ groupBy: "key", from: "2027-01-01" })).toEqual([]);
    });

    it("sums one key's spend since a time, and prunes rows older than a time", async () => {
      const { spend } = opened.store;
      await spend.append([
        spendRow({ time: "2026-03-01T10:00:00.000Z", costUsd: 1 }),
        spendRow({ time: "2026-03-02T10:00:00.000Z", costUsd: 2 }),
        spendRow({ time: "2026-03-02T11:00:00.000Z", costUsd: null }),
        spendRow({ time: "2026-03-02T12:00:00.000Z", keyId: "key_b", costUsd: 4 }),
      ]);
      expect(await spend.spentSince("key_a", "2026-03-01T00:00:00.000Z")).toBeCloseTo(3);
      expect(await spend.spentSince("key_a", "2026-03-02T00:00:00.000Z")).toBeCloseTo(2);
      expect(await spend.spentSince("key_nobody", "2026-03-01T00:00:00.000Z")).toBe(0);
      expect(await spend.prune("2026-03-02T00:00:00.000Z")).toBe(1);
      expect(await spend.prune("2026-03-02T00:00:00.000Z")).toBe(0);
      expect(await spend.spentSince("key_a", "2026-01-01T00:00:00.000Z")).toBeCloseTo(2);
    });

    it("appends a large batch in one call", async () => {
      const rows = Array.from({ length: 2_500 }, (_, index) =>
        spendRow({ time: new Date(Date.UTC(2026, 2, 1, 0, 0, index)).toISOString(), costUsd: 0.001 }),
      );
      await opened.store.spend.append(rows);
      const [total] = await opened.store.spend.usage({ groupBy: "key" });
      expect(total).toMatchObject({ keyId: "key_a", requests: 2_500 });
      expect(total?.costUsd).toBeCloseTo(2.5);
    });
  });
}

function twice(sums: { inputTokens: number; cachedTokens: number; outputTokens: number }) {
  return {
    inputTokens: sums.inputTokens * 2,
    cachedTokens: sums.cachedTokens * 2,
    outputTokens: sums.outputTokens * 2,
  };
}

function thrice(sums: { inputTokens: number; cachedTokens: number; outputTokens: number }) {
  return {
    inputTokens: sums.inputTokens * 3,
    cachedTokens: sums.cachedTokens * 3,
    outputTokens: sums.outputTokens * 3,
  };
}
