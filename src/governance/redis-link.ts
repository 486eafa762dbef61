/**
 * The gateway's connection to Redis (`store.redis_url`) and whether it is up. Requests must never wait on a dead
 * Redis: commands fail at once while disconnected (no offline queue, no retries per request), a command that
 * hangs (a frozen server) fails after a short timeout and forces a reconnect, and the client keeps reconnecting in
 * the background so the gateway goes back to Redis by itself when it returns.
 *
 * ioredis 6.1.0, pinned: the current stable line (6.0.0 in July 2026, 6.1.0 in November; 5.11.1 is the last 5.x).
 * Its one breaking change for us, RESP3 by default, changes no reply shape we read (the default "legacy" reply
 * mapping keeps v5's shapes), and Redis 6+ speaks RESP3.
 */
import { Redis, type RedisOptions } from "ioredis";

/** A client and its health, shared by the counters, the cooldowns and the key fan-out of one process. */
export interface RedisLink {
  readonly client: Redis;
  /** Whether the last thing we heard from Redis was good: connected and answering. */
  readonly up: boolean;
  /**
   * A command failed. A timeout means the socket is open but nobody answers: the link drops it and counts as down
   * until the client is ready again. Other failures (not connected, a script error) leave the state to the
   * connection's own events.
   */
  commandFailed(error: unknown): void;
  /** Calls `listener` with each change of `up`; returns the unsubscribe function. */
  onChange(listener: (up: boolean) => void): () => void;
  /** Resolves once connected, or after `timeoutMs` (whatever the outcome: the fail mode decides the rest). */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Client options that keep a request from ever waiting on a dead Redis. */
export function redisClientOptions(extra: Partial<RedisOptions> = {}): RedisOptions {
  return {
    connectTimeout: 1000,
    // A script on local Redis answers in well under a millisecond; a second means the server is stuck (and leaves
    // room for a busy machine, where a shorter bound would fail healthy Redis over to per-replica counting).
    commandTimeout: 1000,
    enableOfflineQueue: false,
    // No auto-pipelining: it builds a pipeline per tick and defers the write to the next one, which at low
    // concurrency doubled the gateway's CPU per request and added a quarter millisecond (bench/redis-limits.ts).
    maxRetriesPerRequest: 0,
    // Reconnect forever, quickly at first, then once a second: the gateway returns to Redis within a second.
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
    ...extra,
  };
}

/** Opens a client on `url` and tracks its health. */
export function createRedisLink(url: string, extra: Partial<RedisOptions> = {}): RedisLink {
  const client = new Redis(url, redisClientOptions(extra));
  let up = false;
  let closed = false;
  const listeners = new Set<(up: boolean) => void>();
  const set = (next: boolean) => {
    if (next === up) return;
    up = next;
    for (const listener of [...listeners]) listener(up);
  };
  client.on("ready", () => set(true));
  for (const event of ["close", "end", "reconnecting"] as const) client.on(event, () => set(false));
  // Without a listener ioredis logs every failed reconnect to stderr; the fail mode's warning says it instead.
  client.on("error", () => set(false));
  return {
    client,
    get up() {
      return up;
    },
    commandFailed(error) {
      if (closed || !(error instanceof Error) || !/timed? ?out/i.test(error.message)) return;
      set(false);
      client.disconnect(true);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async ready(timeoutMs) {
      if (up) return true;
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          stop();
          resolve(up);
        }, timeoutMs);
        const stop = this.onChange((now) => {
          if (!now) return;
          clearTimeout(timer);
          stop();
          resolve(true);
        });
      });
    },
    async close() {
      closed = true;
      listeners.clear();
      client.disconnect(false);
    },
  };
}
