/**
 * A KeyStore that tells the other replicas after each change it makes (create, update, revoke), so their key
 * caches reload at once instead of at their next poll of the store's version. The announcement goes out after the
 * write succeeded, so a replica that reloads on it reads the change.
 */
import type { GovernanceStore, KeyStore } from "./store.ts";

export function announcingKeyStore(keys: KeyStore, announce: () => void): KeyStore {
  const after = async <T>(write: Promise<T>): Promise<T> => {
    const result = await write;
    announce();
    return result;
  };
  return {
    create: (key) => after(keys.create(key)),
    list: () => keys.list(),
    get: (id) => keys.get(id),
    update: (id, patch) => after(keys.update(id, patch)),
    revoke: (id) => after(keys.revoke(id)),
    version: () => keys.version(),
  };
}

/** `store` with its keys announcing (the spend log and close are the store's own). */
export function announcingStore(store: GovernanceStore, announce: () => void): GovernanceStore {
  return { keys: announcingKeyStore(store.keys, announce), spend: store.spend, close: () => store.close() };
}
