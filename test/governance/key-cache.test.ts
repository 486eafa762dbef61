import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { KeyCache } from "../../src/governance/key-cache.ts";
import type { KeyStore, StoredKey } from "../../src/governance/store.ts";

const digest = (secret: string) => createHash("sha256").update(secret).digest("hex");

function stored(secret: string, overrides: Partial<StoredKey> = {}): StoredKey {
  return {
    id: `key_${secret}`,
    name: secret,
    digest: digest(secret),
    keyPrefix: "sk-llmp-xxxx",
    models: undefined,
    limits: undefined,
    createdAt: "2026-01-01T00:00:00.000Z",
    expiresAt: undefined,
    revoked: false,
    ...overrides,
  };
}

/** A KeyStore whose keys and version the test sets, counting the lists it serves. */
class FakeKeys implements KeyStore {
  keys: StoredKey[] = [];
  current = 1;
  lists = 0;
  failing = false;
  async version(): Promise<number> {
    if (this.failing) throw new Error("store down");
    return this.current;
  }
  async list(): Promise<StoredKey[]> {
    this.lists += 1;
    return [...this.keys];
  }
  create(): never {
    throw new Error("unused");
  }
  get(): never {
    throw new Error("unused");
  }
  update(): never {
    throw new Error("unused");
  }
  revoke(): never {
    throw new Error("unused");
  }
}

const caches: KeyCache[] = [];
afterEach(() => {
  for (const cache of caches.splice(0)) cache.stop();
});

function cacheOf(store: KeyStore, warnings: object[] = []): KeyCache {
  const cache = new KeyCache(store, { warn: (entry) => warnings.push(entry) });
  caches.push(cache);
  return cache;
}

describe("KeyCache", () => {
  it("finds active keys with their principal, and neither revoked nor expired ones", async () => {
    const store = new FakeKeys();
    store.keys = [
      stored("alive", { models: ["gpt-*"], limits: { rpm: 3 } }),
      stored("revoked", { revoked: true }),
      stored("expiring", { expiresAt: "2026-06-01T00:00:00.000Z" }),
    ];
    const cache = cacheOf(store);
    await cache.start(60_000);
    const principal = cache.lookup("alive");
    expect(principal).toMatchObject({ id: "key_alive", name: "alive", role: "client", limits: { rpm: 3 } });
    expect(principal?.models?.allows("gpt-4o")).toBe(true);
    expect(principal?.models?.allows("claude")).toBe(false);
    expect(cache.lookup("revoked")).toBeUndefined();
    expect(cache.lookup("nobody")).toBeUndefined();
    const june = Date.parse("2026-06-01T00:00:00.000Z");
    expect(cache.lookup("expiring", june - 1)?.id).toBe("key_expiring");
    expect(cache.lookup("expiring", june)).toBeUndefined();
  });

  it("requires keys while any key is active, up to the last expiry", async () => {
    const store = new FakeKeys();
    const cache = cacheOf(store);
    await cache.start(60_000);
    expect(cache.hasActiveKeys()).toBe(false);
    store.keys = [stored("a", { expiresAt: "2026-06-01T00:00:00.000Z" }), stored("b", { revoked: true })];
    store.current = 2;
    await cache.refresh();
    expect(cache.hasActiveKeys(Date.parse("2026-05-31T00:00:00.000Z"))).toBe(true);
    expect(cache.hasActiveKeys(Date.parse("2026-06-01T00:00:00.000Z"))).toBe(false);
  });

  it("reloads only when the version moves, and sees a change by polling", async () => {
    const store = new FakeKeys();
    const cache = cacheOf(store);
    await cache.start(20);
    await cache.refresh();
    await cache.refresh();
    expect(store.lists).toBe(1);
    store.keys = [stored("new")];
    store.current = 2;
    await expect.poll(() => cache.lookup("new")?.id, { timeout: 2000, interval: 10 }).toBe("key_new");
    expect(store.lists).toBe(2);
  });

  it("keeps the keys it has when the store fails, and says so", async () => {
    const store = new FakeKeys();
    store.keys = [stored("kept")];
    const warnings: object[] = [];
    const cache = cacheOf(store, warnings);
    await cache.start(60_000);
    store.failing = true;
    await expect(cache.refresh()).resolves.toBeUndefined();
    expect(cache.lookup("kept")?.id).toBe("key_kept");
    expect(warnings).toHaveLength(1);
  });

  it("refuses a key whose stored expiry cannot be read", async () => {
    const store = new FakeKeys();
    store.keys = [stored("odd", { expiresAt: "not a time" })];
    const cache = cacheOf(store);
    await cache.start(60_000);
    expect(cache.lookup("odd")).toBeUndefined();
    expect(cache.hasActiveKeys()).toBe(false);
  });
});
