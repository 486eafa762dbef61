/**
 * The client connection cap on /metrics (server.max_connections, src/net/connection-cap.ts): open connections and
 * the cap as gauges, refused connections as a counter, all read from the cap when scraped.
 */
import { Counter, Gauge, type Registry } from "prom-client";

/** What the metrics read from the cap. */
export interface ConnectionCounts {
  limit(): number;
  open(): number;
  refused(): number;
}

/** Registers the three instruments in `registry`. */
export function registerConnectionMetrics(registry: Registry, counts: ConnectionCounts): void {
  const registers = [registry];
  let reportedRefusals = 0;
  new Gauge({
    name: "llm_proxy_open_connections",
    help: "Client connections open in this process.",
    registers,
    collect() {
      this.set(counts.open());
    },
  });
  new Gauge({
    name: "llm_proxy_max_connections",
    help: "server.max_connections: client connections this process keeps open at most.",
    registers,
    collect() {
      this.set(counts.limit());
    },
  });
  new Counter({
    name: "llm_proxy_refused_connections_total",
    help: "Client connections closed on arrival because server.max_connections were open.",
    registers,
    collect() {
      const refused = counts.refused();
      this.inc(refused - reportedRefusals);
      reportedRefusals = refused;
    },
  });
}
