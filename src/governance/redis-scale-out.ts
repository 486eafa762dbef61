/**
 * Everything a replica shares through Redis when `store.redis_url` is set, built once per process: the limit
 * counters (with `store.fail_mode` in front), deployment cooldowns, the key-change fan-out, and the link's health
 * for `/ready` and `llm_proxy_store_up`.
 */
import type { DeploymentHealth } from "../routing/deployment-health.ts";
import { PeerCooldowns, shareCooldowns } from "../routing/shared-cooldowns.ts";
import type { LimitCounters } from "./counters.ts";
import { createFailoverCounters, type FailMode } from "./failover-counters.ts";
import { COOLDOWN_CHANNEL, createRedisBus, KEYS_CHANNEL } from "./redis-bus.ts";
import { createRedisCounters } from "./redis-counters.ts";
import { createRedisLink } from "./redis-link.ts";
import type { SpendLog } from "./store.ts";
import type { StoreHealth } from "./store-health.ts";

export interface RedisScaleOutOptions {
  readonly url: string;
  readonly failMode: () => FailMode;
  /** This replica's own counters, for `fail_mode: open` while Redis is unreachable. */
  readonly memory: LimitCounters;
  readonly spend: Pick<SpendLog, "spentSince">;
  /** proxy.timeout of the config in force: a slot's lease outlasts any request by 5 s. */
  readonly requestTimeoutMs: () => number;
  readonly log: { warn(object: object, message: string): void; info(object: object, message: string): void };
  /** Key and channel prefix (default `llm-proxy:`). */
  readonly prefix?: string;
}

export interface RedisScaleOut {
  readonly counters: LimitCounters;
  /** For createRuntime's `decorateHealth`: cooldowns announced to and taken from the other replicas. */
  readonly decorateHealth: (
    health: DeploymentHealth,
    cooldown: { readonly durationMs: number },
  ) => DeploymentHealth;
  /** Tells every other replica that keys changed (the admin routes call it after a change). */
  announceKeysChanged(): void;
  /** Calls `listener` when another replica changed keys; returns the unsubscribe function. */
  onKeysChanged(listener: () => void): () => void;
  readonly health: StoreHealth;
  /** Resolves once Redis is connected or `timeoutMs` passed (start does not wait longer: the fail mode decides). */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

// A request ends by proxy.timeout (its deadline covers the whole stream) and settles right after; the margin covers
// that, event-loop stalls and the replicas' clocks disagreeing by a little (each computes leases on its own).
const SLOT_LEASE_MARGIN_MS = 5_000;

export function createRedisScaleOut(options: RedisScaleOutOptions): RedisScaleOut {
  const link = createRedisLink(options.url);
  const prefix = options.prefix ?? "llm-proxy:";
  let settleWarned = 0;
  const redisCounters = createRedisCounters({
    redis: link.client,
    prefix,
    spend: options.spend,
    slotLeaseMs: () => options.requestTimeoutMs() + SLOT_LEASE_MARGIN_MS,
    onSeedError: (keyId, error) =>
      options.log.warn(
        { keyId, err: error },
        "budget not seeded from the spend log; retried on the next request",
      ),
    onSettleError: (error) => {
      // At most one line every 10 s: a dead Redis fails every settle, and the fail mode already says so.
      if (performance.now() - settleWarned < 10_000) return;
      settleWarned = performance.now();
      options.log.warn({ err: error }, "a request's slot and spend could not be settled in Redis");
    },
  });
  const counters = createFailoverCounters({
    redis: redisCounters,
    memory: options.memory,
    link,
    failMode: options.failMode,
    log: options.log,
  });
  let wasDown = false;
  link.onChange((up) => {
    if (!up) wasDown = true;
    else if (wasDown)
      options.log.info({ store: "redis" }, "Redis is back: limits are shared by all replicas again");
  });
  const bus = createRedisBus({ client: link.client, prefix });
  const peers = new PeerCooldowns();
  bus.subscribe(COOLDOWN_CHANNEL, (message) => peers.receive(message, Date.now()));
  const channel = {
    announce: (key: string, remainingMs: number) => bus.publish(COOLDOWN_CHANNEL, { key, remainingMs }),
  };
  return {
    counters,
    decorateHealth: (health, cooldown) =>
      shareCooldowns(health, peers, channel, { durationMs: cooldown.durationMs, now: Date.now }),
    announceKeysChanged: () => bus.publish(KEYS_CHANNEL, {}),
    onKeysChanged: (listener) => bus.subscribe(KEYS_CHANNEL, () => listener()),
    health: {
      store: "redis",
      up: () => link.up,
      failMode: options.failMode,
    },
    ready: (timeoutMs) => link.ready(timeoutMs),
    async close() {
      await counters.close();
      await bus.close();
      await link.close();
    },
  };
}
