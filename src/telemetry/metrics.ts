/**
 * Prometheus metrics (`GET /metrics`), with prom-client: it writes the text format itself and ships the standard
 * process metrics, without loading any OpenTelemetry SDK package (tracing stays optional and free when off).
 * Counters are bumped once per request, from its RequestRecord, when the response is over.
 *
 * Label values are bounded: `model` is a public model of the config in force, `other` for the rest that reached a
 * provider (`provider/<any upstream model>` names, which clients invent freely) and `unknown` when the name did not
 * resolve; `provider` a configured provider (or `none`), `outcome` `ok` or a ProxyError kind.
 * @see https://github.com/siimon/prom-client
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Config } from "../config/config.ts";
import type { StoreHealth } from "../governance/store-health.ts";
import { type ConnectionCounts, registerConnectionMetrics } from "./connection-metrics.ts";
import type { RequestRecord } from "./request-record.ts";
import { registerStoreMetrics } from "./store-metrics.ts";

/** The gateway's metrics and the registry that renders them. */
export interface Metrics {
  /** A chat request started (for the in-flight gauge). */
  started(record: RequestRecord): void;
  /** A chat request is over: count it. */
  completed(record: RequestRecord, outcome: string): void;
  /** The Prometheus text of this app's metrics and the process metrics. */
  render(): Promise<string>;
  readonly contentType: string;
}

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const FIRST_TOKEN_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32];
const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

let processRegistry: Registry | undefined;

/** Process metrics are per process, not per app: one registry, started on first use. */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

const REQUEST_LABELS = ["api", "protocol", "model", "provider"] as const;
const EDGE_LABELS = ["api", "protocol"] as const;
const TOKEN_LABELS = ["model", "provider"] as const;

/** Label values of one (api, protocol, model, provider) series, built once and reused by every request of it. */
interface Series {
  readonly labels: {
    readonly api: string;
    readonly protocol: string;
    readonly model: string;
    readonly provider: string;
  };
  readonly edgeLabels: { readonly api: string; readonly protocol: string };
  readonly tokenLabels: { readonly model: string; readonly provider: string };
  /** Counts since the last scrape. */
  readonly outcomes: Map<string, number>;
  inputTokens: number;
  outputTokens: number;
}

/**
 * Counts kept in plain fields and handed to prom-client when scraped (its `collect` hooks): a prom-client call
 * hashes its label object, which would be several per request; histograms are still observed per request.
 */
class PendingCounts {
  readonly series = new Map<string, Series>();
  readonly attempts = new Map<
    string,
    { readonly labels: { provider: string; outcome: string }; n: number }
  >();
  readonly retries = new Map<string, number>();
  readonly fallbacks = new Map<string, number>();
  /** USD by model label since the last scrape. */
  readonly cost = new Map<string, number>();
  /** Requests in flight by (api, protocol). */
  readonly inFlight = new Map<string, { readonly labels: { api: string; protocol: string }; n: number }>();

  seriesOf(api: string, protocol: string, model: string, provider: string): Series {
    const key = `${api}\u0000${protocol}\u0000${model}\u0000${provider}`;
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = {
        labels: { api, protocol, model, provider },
        edgeLabels: { api, protocol },
        tokenLabels: { model, provider },
        outcomes: new Map(),
        inputTokens: 0,
        outputTokens: 0,
      };
      this.series.set(key, entry);
    }
    return entry;
  }

  countInFlight(api: string, protocol: string, n: number): void {
    const key = `${api}\u0000${protocol}`;
    const entry = this.inFlight.get(key);
    if (entry === undefined) this.inFlight.set(key, { labels: { api, protocol }, n });
    else entry.n += n;
  }

  countAttempt(provider: string, outcome: string): void {
    const key = `${provider}\u0000${outcome}`;
    const entry = this.attempts.get(key);
    if (entry === undefined) this.attempts.set(key, { labels: { provider, outcome }, n: 1 });
    else entry.n += 1;
  }
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/**
 * The instruments of one app, registered in `registry`. Counters and the in-flight gauge take their values from
 * `pending` when scraped (their `collect` hooks); histograms are observed per request.
 */
function instruments(registry: Registry, pending: PendingCounts) {
  const registers = [registry];
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ) => new Histogram({ name, help, labelNames, buckets, registers });
  return {
    requests: new Counter({
      name: "llm_proxy_requests_total",
      help: "Chat requests by API, protocol, public model, provider and outcome (ok or the error kind).",
      labelNames: [...REQUEST_LABELS, "outcome"],
      registers,
      collect() {
        for (const series of pending.series.values()) {
          for (const [outcome, n] of series.outcomes) this.inc({ ...series.labels, outcome }, n);
          series.outcomes.clear();
        }
      },
    }),
    duration: histogram(
      "llm_proxy_request_duration_seconds",
      "Chat request latency, from arrival to the end of the response.",
      REQUEST_LABELS,
      DURATION_BUCKETS,
    ),
    firstToken: histogram(
      "llm_proxy_time_to_first_token_seconds",
      "Streams: time from arrival to the first byte of the answer.",
      REQUEST_LABELS,
      FIRST_TOKEN_BUCKETS,
    ),
    overhead: histogram(
      "llm_proxy_overhead_seconds",
      "The gateway's own time (latency minus time waiting on the upstream), as in x-llm-proxy-overhead-ms.",
      EDGE_LABELS,
      OVERHEAD_BUCKETS,
    ),
    inputTokens: new Counter({
      name: "llm_proxy_input_tokens_total",
      help: "Prompt tokens reported by the upstreams.",
      labelNames: TOKEN_LABELS,
      registers,
      collect() {
        for (const series of pending.series.values()) {
          if (series.inputTokens > 0) this.inc(series.tokenLabels, series.inputTokens);
          series.inputTokens = 0;
        }
      },
    }),
    outputTokens: new Counter({
      name: "llm_proxy_output_tokens_total",
      help: "Completion tokens reported by the upstreams.",
      labelNames: TOKEN_LABELS,
      registers,
      collect() {
        for (const series of pending.series.values()) {
          if (series.outputTokens > 0) this.inc(series.tokenLabels, series.outputTokens);
          series.outputTokens = 0;
        }
      },
    }),
    attempts: new Counter({
      name: "llm_proxy_upstream_attempts_total",
      help: "Upstream attempts by provider and outcome (ok or the error kind).",
      labelNames: ["provider", "outcome"],
      registers,
      collect() {
        for (const entry of pending.attempts.values()) this.inc(entry.labels, entry.n);
        pending.attempts.clear();
      },
    }),
    retries: new Counter({
      name: "llm_proxy_retries_total",
      help: "Attempts that retried the same model (another try or another deployment).",
      labelNames: ["model"],
      registers,
      collect() {
        for (const [model, n] of pending.retries) this.inc({ model }, n);
        pending.retries.clear();
      },
    }),
    cost: new Counter({
      name: "llm_proxy_cost_usd_total",
      help: "USD spent, from the usage and prices: (requests of models without a price add nothing).",
      labelNames: ["model"],
      registers,
      collect() {
        for (const [model, usd] of pending.cost) this.inc({ model }, usd);
        pending.cost.clear();
      },
    }),
    fallbacks: new Counter({
      name: "llm_proxy_fallbacks_total",
      help: "Attempts that fell back to another model.",
      labelNames: ["model"],
      registers,
      collect() {
        for (const [model, n] of pending.fallbacks) this.inc({ model }, n);
        pending.fallbacks.clear();
      },
    }),
    inFlight: new Gauge({
      name: "llm_proxy_requests_in_flight",
      help: "Chat requests being served.",
      labelNames: EDGE_LABELS,
      registers,
      collect() {
        for (const entry of pending.inFlight.values()) this.set(entry.labels, entry.n);
      },
    }),
  };
}

/** What the metrics need from the config. */
export interface MetricsOptions {
  /** Whether `model` is a public model of the config in force (a reload may add or remove some). */
  readonly isPublicModel: (model: string) => boolean;
  /** The client connection cap of the server, when there is one (server.max_connections). */
  readonly connections?: ConnectionCounts;
  /** Rows the spend-log writer dropped so far (src/governance/spend-writer.ts), when the spend log is on. */
  readonly spendRowsDropped?: () => number;
  /** Shared stores (Redis) whose state `llm_proxy_store_up` reports. */
  readonly stores?: readonly StoreHealth[];
}

const publicModelSets = new WeakMap<Config, ReadonlySet<string>>();

/** `isPublicModel` over the config `current()` returns, with one Set per config built on first use. */
export function publicModelCheck(current: () => Config): (model: string) => boolean {
  return (model) => {
    const config = current();
    let models = publicModelSets.get(config);
    if (models === undefined) {
      models = new Set(config.routes.map((route) => route.publicModel));
      publicModelSets.set(config, models);
    }
    return models.has(model);
  };
}

/** `llm_proxy_spend_rows_dropped_total`, read from the writer's count when scraped. */
function registerSpendMetrics(registry: Registry, dropped: () => number): void {
  let reported = 0;
  new Counter({
    name: "llm_proxy_spend_rows_dropped_total",
    help: "Spend-log rows dropped because the store failed for longer than the writer's queue could hold.",
    registers: [registry],
    collect() {
      const total = dropped();
      if (total > reported) this.inc(total - reported);
      reported = total;
    },
  });
}

/** Creates one app's request metrics. */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  const pending = new PendingCounts();
  const metric = instruments(registry, pending);
  if (options.connections !== undefined) registerConnectionMetrics(registry, options.connections);
  if (options.spendRowsDropped !== undefined) registerSpendMetrics(registry, options.spendRowsDropped);
  if (options.stores !== undefined && options.stores.length > 0)
    registerStoreMetrics(registry, options.stores);
  const processWide = processMetrics();
  return {
    contentType: registry.contentType,
    started(record) {
      pending.countInFlight(record.api ?? "other", record.protocol, 1);
    },
    completed(record, outcome) {
      const model =
        record.model === undefined ? "unknown" : options.isPublicModel(record.model) ? record.model : "other";
      const series = pending.seriesOf(
        record.api ?? "other",
        record.protocol,
        model,
        record.provider ?? "none",
      );
      const labels = series.labels;
      pending.countInFlight(record.api ?? "other", record.protocol, -1);
      add(series.outcomes, outcome, 1);
      metric.duration.observe(labels, (performance.now() - record.arrivedAt) / 1000);
      if (record.stream === true && record.firstByteAt !== undefined) {
        metric.firstToken.observe(labels, (record.firstByteAt - record.arrivedAt) / 1000);
      }
      if (record.overheadMs !== undefined) {
        metric.overhead.observe(series.edgeLabels, record.overheadMs / 1000);
      }
      if (record.inputTokens !== undefined) series.inputTokens += record.inputTokens;
      if (record.outputTokens !== undefined) series.outputTokens += record.outputTokens;
      for (const attempt of record.attemptOutcomes) pending.countAttempt(attempt.provider, attempt.outcome);
      if (record.retries > 0) add(pending.retries, model, record.retries);
      if (record.fallbacks > 0) add(pending.fallbacks, model, record.fallbacks);
      if (record.costUsd !== undefined && record.costUsd > 0) add(pending.cost, model, record.costUsd);
    },
    async render() {
      return `${await registry.metrics()}\n${await processWide.metrics()}`;
    },
  };
}
