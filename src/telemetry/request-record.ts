/**
 * What one request did, gathered while it runs and read once when it is over by the access log and the metrics.
 * The edges create it (one per Fastify request), what the core reports of how it was served is written into it
 * (./record-observer.ts), and the edge stamps the first byte. Times are `performance.now()` milliseconds (monotonic).
 */
import type { Context, Span } from "@opentelemetry/api";
import type { ProxyErrorKind } from "../core/errors.ts";
import type { FinishReason } from "../core/types.ts";
import type { Prices } from "../governance/prices.ts";

/** The wire protocol of a request: plain HTTP (JSON, SSE), or one of Connect's three RPC protocols. */
export type Protocol = "http" | "grpc" | "grpc-web" | "connect";

/** One upstream attempt, for the per-provider attempt counter. */
export interface AttemptOutcome {
  readonly provider: string;
  /** `ok`, or the ProxyError kind the attempt failed with. */
  readonly outcome: string;
}

/** The per-request facts. Mutable on purpose: it is filled in by whoever learns a fact, on the hot path. */
export interface RequestRecord {
  readonly requestId: string;
  /** The API its route declared (`chat`, `models`, ...; src/edge/route-edge.ts); undefined outside any edge. */
  readonly api: string | undefined;
  readonly protocol: Protocol;
  /** The request calls a model (a chat completion on any edge), as opposed to /health, /v1/models and the like. */
  readonly modelCall: boolean;
  readonly arrivedAt: number;
  /** Set by the core: whether the client asked for a stream. */
  stream: boolean | undefined;
  /** The public model, set by the core once it resolved (never a client-invented name). */
  model: string | undefined;
  /** The provider of the last attempt (the one that served, on success). */
  provider: string | undefined;
  upstreamModel: string | undefined;
  attempts: number;
  retries: number;
  fallbacks: number;
  readonly attemptOutcomes: AttemptOutcome[];
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  /** Input tokens read from the vendor's cache (part of inputTokens), priced apart. */
  cachedTokens: number | undefined;
  /** USD, from the usage and `prices:`; undefined when unknown (no usage, or the model has no price). */
  costUsd: number | undefined;
  /** The usage was estimated by the gateway (a stream abandoned or failed before the vendor's usage arrived). */
  usageEstimated: boolean;
  /** The prices of the config the request runs under (src/governance/pricing-hook.ts); undefined: none. */
  prices: Prices | undefined;
  /** The core is serving the request: it was told requestStarted and has not yet said finished. */
  coreBusy: boolean;
  /**
   * The response closed while the core was still busy (the client left mid-call): the access line, metrics and
   * completions wait for the core to finish, which reports the usage of the abandoned call (./observability.ts).
   */
  afterCore: (() => void) | undefined;
  readonly finishReasons: FinishReason[];
  /** When the first upstream attempt started, the serving attempt's first chunk arrived, and the upstream ended. */
  upstreamStartedAt: number | undefined;
  firstChunkAt: number | undefined;
  upstreamEndedAt: number | undefined;
  /** When the edge started writing the answer (SSE headers and first event; the gRPC headers). */
  firstByteAt: number | undefined;
  /** The gateway's own time, as sent in the overhead header. */
  overheadMs: number | undefined;
  /** Set when the request failed, by the core or the edge (first one wins). */
  errorKind: ProxyErrorKind | undefined;
  /** gRPC status code of an RPC that failed (0 when it succeeded). */
  grpcCode: number | undefined;
  /** Tools the edge dropped from the request because no upstream can run them (comma-separated), if any. */
  droppedTools: string | undefined;
  traceId: string | undefined;
  /**
   * The HTTP server span (./http-server-span.ts), sampled or not (it took the request's sampling decision), and the
   * context the core and the Connect interceptor start their spans under: undefined without tracing and for a
   * sampled-out request that continues no caller's trace (./edge-trace-context.ts). Fields rather than a WeakMap
   * by record: no ephemeron per request.
   */
  edgeSpan: Span | undefined;
  edgeContext: Context | undefined;
  /** Set once the access line and metrics have been written. */
  completed: boolean;
}

/** Response header carrying the gateway's own share of the latency, in milliseconds. */
export const OVERHEAD_HEADER = "x-llm-proxy-overhead-ms";

/** A fresh record for a request that arrived at `arrivedAt`. */
export function createRequestRecord(
  requestId: string,
  api: string | undefined,
  protocol: Protocol,
  modelCall: boolean,
  arrivedAt: number,
): RequestRecord {
  return {
    requestId,
    api,
    protocol,
    modelCall,
    arrivedAt,
    stream: undefined,
    model: undefined,
    provider: undefined,
    upstreamModel: undefined,
    attempts: 0,
    retries: 0,
    fallbacks: 0,
    attemptOutcomes: [],
    inputTokens: undefined,
    outputTokens: undefined,
    cachedTokens: undefined,
    costUsd: undefined,
    usageEstimated: false,
    prices: undefined,
    coreBusy: false,
    afterCore: undefined,
    finishReasons: [],
    upstreamStartedAt: undefined,
    firstChunkAt: undefined,
    upstreamEndedAt: undefined,
    firstByteAt: undefined,
    overheadMs: undefined,
    errorKind: undefined,
    grpcCode: undefined,
    droppedTools: undefined,
    traceId: undefined,
    edgeSpan: undefined,
    edgeContext: undefined,
    completed: false,
  };
}

/**
 * A stream is about to send its first byte: remembers when (time to first token) and returns the overhead header
 * value: time since arrival minus the upstream's time to first chunk (retries and backoff count as upstream time).
 */
export function stampFirstByte(record: RequestRecord | null | undefined): string | undefined {
  if (record === null || record === undefined) return undefined;
  const now = performance.now();
  record.firstByteAt = now;
  const upstream = spanOf(record.upstreamStartedAt, record.firstChunkAt);
  return upstream === undefined ? undefined : setOverhead(record, now - record.arrivedAt - upstream);
}

/**
 * A whole (non-streaming) answer is about to be sent: returns the overhead header value, the total time so far
 * minus the time from the first upstream attempt to the end of the upstream's answer.
 */
export function stampCompletion(record: RequestRecord | null | undefined): string | undefined {
  if (record === null || record === undefined) return undefined;
  const upstream = spanOf(record.upstreamStartedAt, record.upstreamEndedAt);
  return upstream === undefined
    ? undefined
    : setOverhead(record, performance.now() - record.arrivedAt - upstream);
}

function spanOf(from: number | undefined, to: number | undefined): number | undefined {
  return from === undefined || to === undefined ? undefined : to - from;
}

function setOverhead(record: RequestRecord, ms: number): string {
  // Clock reads on either side of a sub-millisecond interval can cross; overhead is never negative.
  record.overheadMs = Math.max(0, ms);
  return record.overheadMs.toFixed(2);
}
