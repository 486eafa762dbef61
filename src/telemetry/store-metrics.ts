/**
 * `llm_proxy_store_up{store}` on /metrics: 1 while a shared store (Redis) answers, 0 while it does not, read
 * from its health when scraped.
 */
import { Gauge, type Registry } from "prom-client";
import type { StoreHealth } from "../governance/store-health.ts";

/** Registers the gauge in `registry` for `stores`. */
export function registerStoreMetrics(registry: Registry, stores: readonly StoreHealth[]): void {
  new Gauge({
    name: "llm_proxy_store_up",
    help: "Whether a shared store answers (1) or not (0): with Redis down, fail_mode open counts limits per replica.",
    labelNames: ["store"],
    registers: [registry],
    collect() {
      for (const store of stores) this.set({ store: store.store }, store.up() ? 1 : 0);
    },
  });
}
