/**
 * `store.fail_mode` for the Redis counters. While Redis answers, every check goes to it. When it does not:
 * `open` (the default) keeps serving with this replica's own memory counters (each replica then enforces the
 * limits on its own share of the traffic) and warns at most every 10 s; `closed` refuses model calls with a 503
 * (`store_unavailable`) rather than let any limit go unenforced. Back on Redis as soon as it is ready again.
 *
 * A request is settled where it was admitted (its ticket says which), so a slot taken in memory is freed in memory.
 */
import { ProxyError } from "../core/errors.ts";
import type { LimitCounters } from "./counters.ts";
import type { RedisLink } from "./redis-link.ts";
import { warningPace } from "./warning-pace.ts";

export type FailMode = "open" | "closed";

export interface FailoverCountersOptions {
  readonly redis: LimitCounters;
  /** This replica's counters, used while Redis is unreachable in `open` mode. */
  readonly memory: LimitCounters;
  readonly link: Pick<RedisLink, "up" | "commandFailed">;
  readonly failMode: () => FailMode;
  readonly log: { warn(object: object, message: string): void };
  /** Milliseconds between two warnings about the same outage (default 10 s). */
  readonly warnEveryMs?: number;
}

const IN_REDIS = "r";
const IN_MEMORY = "m";

/** The error of a model call refused because Redis is unreachable in `closed` mode. */
export function storeUnavailable(): ProxyError {
  return new ProxyError(
    "overloaded",
    "The gateway cannot reach its limit store (Redis) and store.fail_mode is closed; try again shortly.",
    { code: "store_unavailable", retryAfterMs: 1000 },
  );
}

export function createFailoverCounters(options: FailoverCountersOptions): LimitCounters {
  const timeToWarn = warningPace(options.warnEveryMs ?? 10_000);
  const warn = (reason: string) => {
    if (!timeToWarn()) return;
    const mode = options.failMode();
    options.log.warn(
      { store: "redis", failMode: mode, reason },
      mode === "open"
        ? "Redis is unreachable: limits are counted by each replica on its own until it is back (store.fail_mode: open)"
        : "Redis is unreachable: model calls are refused with 503 until it is back (store.fail_mode: closed)",
    );
  };
  return {
    async admit(key, nowMs) {
      let reason = "not connected";
      if (options.link.up) {
        try {
          const admission = await options.redis.admit(key, nowMs);
          return admission.admitted ? { ...admission, ticket: IN_REDIS + admission.ticket } : admission;
        } catch (error) {
          options.link.commandFailed(error);
          reason = error instanceof Error ? error.message : String(error);
        }
      }
      warn(reason);
      if (options.failMode() === "closed") throw storeUnavailable();
      const admission = await options.memory.admit(key, nowMs);
      return admission.admitted ? { ...admission, ticket: IN_MEMORY + admission.ticket } : admission;
    },
    settle(key, ticket, spent, nowMs) {
      if (ticket.startsWith(IN_REDIS)) options.redis.settle(key, ticket.slice(1), spent, nowMs);
      else options.memory.settle(key, ticket.slice(1), spent, nowMs);
    },
    async close() {
      await Promise.all([options.redis.close(), options.memory.close()]);
    },
  };
}
