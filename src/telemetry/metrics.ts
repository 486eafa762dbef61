/**
 * Prometheus metrics (`GET /metrics`), with prom-client: it writes the text format itself and ships the standard
 * process metrics, without loading any OpenTelemetry SDK package (tracing stays optional and free when off).
 * Counters are bumped once per request, from its RequestRecord, when the response is over.
 *
 * Label values are bounded: `model` is a configured public model (or `unknown`), `provider` a configured provider
 * (or `none`), `outcome` `ok` or a ProxyError kind.
 * @see https://github.com/siimon/prom-client
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { RequestRecord } from "./request-record.ts";

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

const REQUEST_LABELS = ["protocol", "model", "provider"] as const;
const TOKEN_LABELS = ["model", "provider"] as const;

/** The instruments of one app, registered in `registry`. */
function instruments(registry: Registry) {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter({ name, help, labelNames, registers });
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ) => new Histogram({ name, help, labelNames, buckets, registers });
  return {
    requests: counter(
      "llm_proxy_requests_total",
      "Chat requests by protocol, public model, provider and outcome (ok or the error kind).",
      [...REQUEST_LABELS, "outcome"],
    ),
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
      ["protocol"],
      OVERHEAD_BUCKETS,
    ),
    inputTokens: counter(
      "llm_proxy_input_tokens_total",
      "Prompt tokens reported by the upstreams.",
      TOKEN_LABELS,
    ),
    outputTokens: counter(
      "llm_proxy_output_tokens_total",
      "Completion tokens reported by the upstreams.",
      TOKEN_LABELS,
    ),
    attempts: counter(
      "llm_proxy_upstream_attempts_total",
      "Upstream attempts by provider and outcome (ok or the error kind).",
      ["provider", "outcome"],
    ),
    retries: counter(
      "llm_proxy_retries_total",
      "Attempts that retried the same model (another try or another deployment).",
      ["model"],
    ),
    fallbacks: counter("llm_proxy_fallbacks_total", "Attempts that fell back to another model.", ["model"]),
    inFlight: new Gauge({
      name: "llm_proxy_requests_in_flight",
      help: "Chat requests being served.",
      labelNames: ["protocol"],
      registers,
    }),
  };
}

/** Creates one app's request metrics. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  const metric = instruments(registry);
  const processWide = processMetrics();
  return {
    contentType: registry.contentType,
    started(record) {
      metric.inFlight.inc({ protocol: record.protocol });
    },
    completed(record, outcome) {
      const model = record.model ?? "unknown";
      const provider = record.provider ?? "none";
      const labels = { protocol: record.protocol, model, provider };
      metric.inFlight.dec({ protocol: record.protocol });
      metric.requests.inc({ ...labels, outcome });
      metric.duration.observe(labels, (performance.now() - record.arrivedAt) / 1000);
      if (record.stream === true && record.firstByteAt !== undefined) {
        metric.firstToken.observe(labels, (record.firstByteAt - record.arrivedAt) / 1000);
      }
      if (record.overheadMs !== undefined) {
        metric.overhead.observe({ protocol: record.protocol }, record.overheadMs / 1000);
      }
      if (record.inputTokens !== undefined) metric.inputTokens.inc({ model, provider }, record.inputTokens);
      if (record.outputTokens !== undefined)
        metric.outputTokens.inc({ model, provider }, record.outputTokens);
      for (const attempt of record.attemptOutcomes) metric.attempts.inc(attempt);
      if (record.retries > 0) metric.retries.inc({ model }, record.retries);
      if (record.fallbacks > 0) metric.fallbacks.inc({ model }, record.fallbacks);
    },
    async render() {
      return `${await registry.metrics()}\n${await processWide.metrics()}`;
    },
  };
}
