/**
 * What the process entry adds when `store.redis_url` is set: the Redis scale-out (src/governance/
 * redis-scale-out.ts) over the config in force, with this replica's own counters behind it for
 * `fail_mode: open` (the cluster primary's when `server.workers > 1`). Without `redis_url`: nothing.
 */
import pino from "pino";
import type { Config } from "../config/config.ts";
import type { LimitCounters } from "./counters.ts";
import { MemoryLimitCounters } from "./memory-counters.ts";
import { createRedisScaleOut, type RedisScaleOut } from "./redis-scale-out.ts";
import type { SpendLog } from "./store.ts";

export interface ScaleOutStart {
  readonly config: Config;
  /** The config in force (reloads change the request timeout and the fail mode); read only once serving. */
  readonly current: () => Config;
  /** Seeds budgets after Redis lost them; absent: they restart from zero. */
  readonly spend?: Pick<SpendLog, "spentSince">;
  /** This replica's counters for `fail_mode: open`; default: memory counters seeded from `spend`. */
  readonly fallback?: LimitCounters;
}

/** Starts the scale-out and waits up to a second for Redis (a later Redis is picked up by itself). */
export async function startScaleOut(start: ScaleOutStart): Promise<RedisScaleOut | undefined> {
  const url = start.config.store.redisUrl;
  if (url === undefined) return undefined;
  // The scale-out exists before the app (its counters are one of the app's parts), so it logs on its own.
  const log = pino({ level: start.config.server.logLevel }).child({ component: "scale-out" });
  const spend = start.spend;
  const scaleOut = createRedisScaleOut({
    url,
    failMode: () => start.current().store.failMode,
    memory:
      start.fallback ??
      new MemoryLimitCounters(
        spend === undefined ? {} : { spentSince: (id, from) => spend.spentSince(id, from) },
      ),
    spend: spend ?? { spentSince: async () => 0 },
    requestTimeoutMs: () => start.current().proxy.timeoutMs,
    log,
  });
  if (!(await scaleOut.ready(1000))) {
    log.warn(
      { store: "redis", failMode: start.config.store.failMode },
      "Redis is not reachable at start; the gateway uses it as soon as it is",
    );
  }
  return scaleOut;
}
