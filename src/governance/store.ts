/**
 * The governance store: virtual keys and the spend log. One interface, two homes: an embedded SQLite file
 * (the default, one machine) and PostgreSQL (many replicas). Every method is async so both fit; nothing here is
 * called on a request's hot path except through the caches and batches in front of it.
 */
import type { KeyLimits } from "./limits.ts";

/** A virtual key as stored: never its secret, only the secret's SHA-256 and first characters. */
export interface StoredKey {
  readonly id: string;
  readonly name: string;
  /** Hex SHA-256 of the secret. */
  readonly digest: string;
  /** The secret's first characters, to recognise it in a list (`sk-llmp-ab12`). */
  readonly keyPrefix: string;
  /** Public models it may use (exact names or prefixes ending in `*`); undefined: all. */
  readonly models: readonly string[] | undefined;
  readonly limits: KeyLimits | undefined;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly expiresAt: string | undefined;
  readonly revoked: boolean;
}

/** A key to create (the caller made the secret and its digest): a stored key before it can be revoked. */
export type NewKey = Omit<StoredKey, "revoked">;

/** What PATCH may change; `null` clears a field. */
export interface KeyPatch {
  readonly name?: string;
  readonly models?: readonly string[] | null;
  readonly limits?: KeyLimits | null;
  readonly expiresAt?: string | null;
}

export interface KeyStore {
  create(key: NewKey): Promise<StoredKey>;
  /** Every key, revoked ones included, oldest first. */
  list(): Promise<StoredKey[]>;
  get(id: string): Promise<StoredKey | undefined>;
  update(id: string, patch: KeyPatch): Promise<StoredKey | undefined>;
  /** Marks it revoked (kept for the spend log's sake). */
  revoke(id: string): Promise<StoredKey | undefined>;
  /**
   * A number that grows with every change to any key: a process polls it (and a pub/sub nudge may prompt it)
   * to refresh its cache of keys, so changes made elsewhere are seen within a second.
   */
  version(): Promise<number>;
}

/** One request's row in the spend log. Never prompt or answer content. */
export interface SpendRow {
  /** ISO 8601, when the request arrived. */
  readonly time: string;
  readonly requestId: string;
  /** undefined when the API is open (no key). */
  readonly keyId: string | undefined;
  readonly keyName: string | undefined;
  /** The route's API: chat, responses, messages, embeddings. */
  readonly api: string;
  readonly model: string | undefined;
  readonly provider: string | undefined;
  readonly upstreamModel: string | undefined;
  /** The outcome, as in the access line: `ok`, `cancelled`, or the error kind. */
  readonly status: string;
  readonly inputTokens: number;
  readonly cachedTokens: number;
  readonly outputTokens: number;
  /** USD; null when the model has no price. */
  readonly costUsd: number | null;
  /** The usage was estimated (an abandoned or failed stream without the vendor's usage). */
  readonly estimated: boolean;
  readonly latencyMs: number;
  /** Time to first token; undefined when nothing was streamed. */
  readonly ttftMs: number | undefined;
}

export type UsageGroup = "key" | "model" | "day";

export interface UsageQuery {
  /** ISO date or date-time, inclusive. */
  readonly from?: string;
  /** ISO date or date-time, exclusive (a bare date means the end of that day). */
  readonly to?: string;
  /** A key id or name. */
  readonly key?: string;
  readonly model?: string;
  readonly groupBy: UsageGroup;
}

/** One group of `GET /admin/usage`. */
export interface UsageRow {
  readonly keyId?: string | null;
  readonly keyName?: string | null;
  readonly model?: string | null;
  /** YYYY-MM-DD (UTC). */
  readonly day?: string;
  readonly requests: number;
  readonly inputTokens: number;
  readonly cachedTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
}

export interface SpendLog {
  /** Appends a batch in one transaction. */
  append(rows: readonly SpendRow[]): Promise<void>;
  usage(query: UsageQuery): Promise<UsageRow[]>;
  /** USD spent by a key since `from` (ISO 8601): seeds budgets after a restart. */
  spentSince(keyId: string, from: string): Promise<number>;
  /** Deletes rows older than `before` (ISO 8601); returns how many. */
  prune(before: string): Promise<number>;
}

/** A store holding both. */
export interface GovernanceStore {
  readonly keys: KeyStore;
  readonly spend: SpendLog;
  close(): Promise<void>;
}
