/**
 * Whether a shared store the gateway depends on answers, for `/ready` and `llm_proxy_store_up`. With Redis
 * unreachable, `fail_mode: open` keeps the replica ready (degraded: limits counted per replica) and `closed` makes
 * it not ready, since it then refuses every model call of a limited key.
 */
import type { FailMode } from "./failover-counters.ts";

export interface StoreHealth {
  /** The `store` label: `redis`, `postgres`. */
  readonly store: string;
  up(): boolean;
  failMode(): FailMode;
}
