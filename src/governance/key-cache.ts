/**
 * The virtual keys of the store, held in memory so that checking a presented key costs what a file key costs
 * (one hash, one Map lookup, one constant-time compare) and never touches the store on a request's path.
 *
 * Freshness: the cache polls the store's key version (a one-row read) every 250 ms and reloads the keys when it
 * moved, so a key created, changed or revoked by another worker or replica is seen within a second; the admin
 * routes call refresh() right after their own write, so the worker that revoked a key refuses it on its very next
 * request; a pub/sub nudge (scale-out) can call refresh() the same way. Revoked keys are left out when loading,
 * and an expired key is refused at lookup time (expiry needs no change in the store to take effect).
 */
import { createHash } from "node:crypto";
import { type KeyEntry, lookupKey, modelAccess, type Principal } from "../auth/keys.ts";
import type { KeyStore, StoredKey } from "./store.ts";
import { warningPace } from "./warning-pace.ts";

/** How often the key version is read. */
export const KEY_POLL_MS = 250;

/** While the store keeps failing (PostgreSQL down), one warning per this many ms, not one per poll. */
const FAILURE_WARNING_EVERY_MS = 10_000;

interface CacheLog {
  warn(object: object, message: string): void;
}

interface LoadedKeys {
  readonly entries: ReadonlyMap<string, KeyEntry>;
  /** Expiry (epoch ms) of each principal that has one. */
  readonly expiries: ReadonlyMap<Principal, number>;
  /** Until when at least one loaded key is usable: Infinity when one never expires, -Infinity when none. */
  readonly liveUntilMs: number;
}

const EMPTY: LoadedKeys = { entries: new Map(), expiries: new Map(), liveUntilMs: Number.NEGATIVE_INFINITY };

export class KeyCache {
  readonly #store: KeyStore;
  readonly #log: CacheLog;
  #keys: LoadedKeys = EMPTY;
  /** The store version the loaded keys are from (-1: nothing loaded yet). */
  #version = -1;
  /** The refresh running or queued: refreshes run one after another, each reading the version anew. */
  #refreshing: Promise<void> = Promise.resolve();
  #pending = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #timeToWarn = warningPace(FAILURE_WARNING_EVERY_MS);

  constructor(store: KeyStore, log: CacheLog) {
    this.#store = store;
    this.#log = log;
  }

  /** Loads the keys (a failure here is the caller's: the process should not serve without them), then polls. */
  async start(pollMs = KEY_POLL_MS): Promise<void> {
    await this.#load();
    this.#timer ??= setInterval(() => {
      // A slow store must not pile up polls.
      if (this.#pending === 0) void this.refresh();
    }, pollMs);
    this.#timer.unref();
  }

  /**
   * Reloads the keys if the store's version moved since the last load. Resolves once a load that began after
   * this call has finished, so a caller that just wrote to the store sees its change. Never rejects: a failing
   * store keeps the keys last loaded (and says so in the log).
   */
  refresh(): Promise<void> {
    this.#pending += 1;
    this.#refreshing = this.#refreshing.then(async () => {
      try {
        await this.#load();
      } catch (error) {
        if (this.#timeToWarn()) {
          this.#log.warn(
            { err: error },
            "virtual keys not refreshed: the store failed; the keys loaded before stay",
          );
        }
      } finally {
        this.#pending -= 1;
      }
    });
    return this.#refreshing;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The principal of a presented key: active (not revoked, not expired at `nowMs`), else undefined. */
  lookup(presented: string, nowMs = Date.now()): Principal | undefined {
    const keys = this.#keys;
    if (keys.entries.size === 0) return undefined;
    const principal = lookupKey(keys.entries, presented);
    if (principal === undefined) return undefined;
    const expiresAt = keys.expiries.get(principal);
    return expiresAt !== undefined && expiresAt <= nowMs ? undefined : principal;
  }

  /** Whether any active key exists: the API then requires a key, as it does when the file lists client keys. */
  hasActiveKeys(nowMs = Date.now()): boolean {
    return nowMs < this.#keys.liveUntilMs;
  }

  async #load(): Promise<void> {
    const version = await this.#store.version();
    if (version === this.#version) return;
    const stored = await this.#store.list();
    this.#keys = loadKeys(stored);
    this.#version = version;
  }
}

function loadKeys(stored: readonly StoredKey[]): LoadedKeys {
  const entries = new Map<string, KeyEntry>();
  const expiries = new Map<Principal, number>();
  let liveUntilMs = Number.NEGATIVE_INFINITY;
  for (const key of stored) {
    if (key.revoked) continue;
    const principal: Principal = {
      id: key.id,
      name: key.name,
      role: "client",
      models: key.models === undefined ? undefined : modelAccess(key.models),
      limits: key.limits,
    };
    // An unreadable expiry (a hand-edited row) counts as expired: refusing is the safe reading.
    const expiresAt =
      key.expiresAt === undefined
        ? Number.POSITIVE_INFINITY
        : Date.parse(key.expiresAt) || Number.NEGATIVE_INFINITY;
    if (expiresAt !== Number.POSITIVE_INFINITY) expiries.set(principal, expiresAt);
    liveUntilMs = Math.max(liveUntilMs, expiresAt);
    entries.set(key.digest, { digest: Buffer.from(key.digest, "hex"), principal });
  }
  return { entries, expiries, liveUntilMs };
}

/** Hex SHA-256 of a secret, as the store keeps it. */
export function digestOfSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}
