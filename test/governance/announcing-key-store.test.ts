/**
 * The key store that announces its changes to the other replicas (scale-out): each write that succeeded is
 * announced once, after it is in the store; reads announce nothing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { announcingKeyStore } from "../../src/governance/announcing-key-store.ts";
import { openSqliteStore } from "../../src/governance/sqlite-store.ts";
import type { GovernanceStore } from "../../src/governance/store.ts";

let store: GovernanceStore | undefined;
afterEach(async () => {
  await store?.close();
});

describe("announcingKeyStore", () => {
  it("announces create, update and revoke after they are stored, and nothing for reads", async () => {
    store = await openSqliteStore(":memory:");
    const inner = store.keys;
    const seen: number[] = [];
    // Each announcement records the store's version at that moment: the change is already in.
    const keys = announcingKeyStore(inner, () => void inner.version().then((version) => seen.push(version)));
    const created = await keys.create({
      id: "key_1",
      name: "team-a",
      digest: "0".repeat(64),
      keyPrefix: "sk-llmp-0000",
      models: undefined,
      limits: undefined,
      createdAt: new Date().toISOString(),
      expiresAt: undefined,
    });
    await keys.list();
    await keys.get(created.id);
    await keys.update(created.id, { name: "team-b" });
    await keys.revoke(created.id);
    await keys.version();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toHaveLength(3);
    expect(seen[2]).toBe(await inner.version());
    expect(seen[0]).toBeLessThan(seen[2] ?? 0);
  });
});
