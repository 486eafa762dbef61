/**
 * A key cache whose store keeps failing (PostgreSQL down for minutes) polls four times a second but warns once
 * per 10 s, not once per poll, and keeps serving the keys it loaded before.
 */
import { createHash } from "node:crypto";
import { expect, it } from "vitest";
import { KeyCache } from "../../src/governance/key-cache.ts";
import type { KeyStore, StoredKey } from "../../src/governance/store.ts";

const SECRET = "sk-llmp-outage-0123456789";

const key: StoredKey = {
  id: "key_outage",
  name: "outage",
  digest: createHash("sha256").update(SECRET).digest("hex"),
  keyPrefix: "sk-llmp-outa",
  models: undefined,
  limits: undefined,
  createdAt: "2026-01-01T00:00:00.000Z",
  expiresAt: undefined,
  revoked: false,
};

it("warns once while the store fails poll after poll, and keeps the keys it had", async () => {
  let down = false;
  let versionReads = 0;
  const store: KeyStore = {
    version: async () => {
      versionReads += 1;
      if (down) throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
      return 1;
    },
    list: async () => [key],
    get: async () => undefined,
    create: async () => key,
    update: async () => undefined,
    revoke: async () => undefined,
  };
  const warnings: string[] = [];
  const cache = new KeyCache(store, { warn: (_object, message) => void warnings.push(message) });
  await cache.start(10);
  try {
    down = true;
    const readsBefore = versionReads;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(versionReads - readsBefore).toBeGreaterThan(5);
    expect(warnings).toEqual(["virtual keys not refreshed: the store failed; the keys loaded before stay"]);
    expect(cache.lookup(SECRET)).toMatchObject({ id: "key_outage" });
  } finally {
    cache.stop();
  }
});
