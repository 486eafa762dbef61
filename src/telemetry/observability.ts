/**
 * Wires observability into the app: a RequestRecord per request (decorated on the Fastify request, filled by the
 * edges and by the core's observer, ./request-lifecycle.ts), the access line and metrics when the response closes,
 * `GET /metrics`, and, when tracing is on, the HTTP server span (./http-server-span.ts).
 *
 * One `'close'` listener per response is the single place a request ends: it fires after a normal finish and when
 * the client cut a stream, for HTTP/1.1 and HTTP/2 alike (Fastify's onResponse does not fire for the latter).
 */
import type { Code, Interceptor } from "@connectrpc/connect";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ProxyError } from "../core/errors.ts";
import type { RouteEdge } from "../edge/route-edge.ts";
import type { AccessLogController } from "./access-log.ts";
import type { Metrics } from "./metrics.ts";
import { createRequestRecord, type Protocol, type RequestRecord } from "./request-record.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** What this request did, for the access log and metrics (set by the first onRequest hook). */
    record: RequestRecord | null;
  }
}

/** What tracing adds to the edges; present only when the OpenTelemetry SDK was started. */
export interface EdgeTracing {
  /** For the Connect handler: node:http2 is not instrumented, so RPCs get their server span from an interceptor. */
  readonly interceptors: readonly Interceptor[];
  /** For the gRPC fast lane: the same span (./rpc-span.ts); returns the function that ends it with the status. */
  startFastLaneSpan(
    request: FastifyRequest,
    method: string,
  ): (code: Code | undefined, message: string | undefined) => void;
  /** Per request, first thing: starts its HTTP server span (HTTP/1.1; gRPC over h2 is the interceptor's). */
  onRequest(request: FastifyRequest, record: RequestRecord): void;
  /** The response is over: ends that span with the status. */
  onResponseEnd(record: RequestRecord, statusCode: number): void;
}

/**
 * Told once per request, after the access line and metrics, with the finished record and its outcome (`ok`,
 * `cancelled` or an error kind): the limits settle the key's counters, the spend log queues the row. Must not throw.
 */
export type RequestCompletion = (request: FastifyRequest, record: RequestRecord, outcome: string) => void;

/** Options of registerObservability. */
export interface ObservabilityOptions {
  readonly metrics: Metrics;
  readonly accessLog: AccessLogController;
  readonly tracing: EdgeTracing | undefined;
  /** Listeners of each finished request, in order (governance: limits, spend log). */
  readonly completions?: readonly RequestCompletion[];
}

/**
 * Adds the decoration, hooks and route to the root instance. Call it first, so that the record exists for every
 * other hook (a request refused by authentication is logged and counted too).
 */
export function registerObservability(app: FastifyInstance, options: ObservabilityOptions): void {
  const { metrics, tracing } = options;
  app.decorateRequest("record", null);
  app.addHook("onRequest", (request, reply, done) => {
    // The route's own declaration (src/edge/route-edge.ts) labels it; routes outside any edge are plain HTTP.
    const edge = request.routeOptions.config?.edge;
    const record = createRequestRecord(
      request.id,
      edge?.api,
      protocolOf(edge, request.headers["content-type"]),
      edge?.modelCall === true,
      performance.now(),
    );
    request.record = record;
    tracing?.onRequest(request, record);
    if (record.modelCall) metrics.started(record);
    // 'close' fires once per response; `on` skips the wrapper `once` allocates.
    reply.raw.on("close", () => completeRequest(request, reply, record, options));
    done();
  });
  app.addHook("onError", (request, _reply, error, done) => {
    if (request.record !== null) request.record.errorKind ??= kindOfError(error);
    done();
  });
  app.get("/metrics", async (_request, reply) => {
    return reply.type(metrics.contentType).send(await metrics.render());
  });
}

/**
 * How long a request whose client left waits for the core to report its end before it is reported anyway. The core
 * ends an abandoned call within a few event-loop turns (it aborts the upstream request); this only bounds a bug.
 */
const CORE_END_WAIT_MS = 5_000;

function completeRequest(
  request: FastifyRequest,
  reply: FastifyReply,
  record: RequestRecord,
  options: ObservabilityOptions,
): void {
  if (record.completed) return;
  record.completed = true;
  const statusCode = reply.raw.statusCode;
  // An HTTP/2 stream the client reset reads as finished (destroyed); only one we ended ourselves was answered.
  const outcome = outcomeOf(record, statusCode, reply.raw.writableEnded && reply.raw.writableFinished);
  if (!record.coreBusy) {
    reportRequest(request, record, statusCode, outcome, options);
    return;
  }
  // The client left mid-call: the core is still ending it and will report its usage (the vendor's or an
  // estimate); the request is reported once it has, so that what the abandoned call used is logged and billed.
  let reported = false;
  const report = (): void => {
    if (reported) return;
    reported = true;
    clearTimeout(timer);
    reportRequest(request, record, statusCode, outcome, options);
  };
  const timer = setTimeout(report, CORE_END_WAIT_MS);
  timer.unref();
  record.afterCore = report;
}

/** Writes the request's metrics, access line and span end, then tells the completion listeners. */
function reportRequest(
  request: FastifyRequest,
  record: RequestRecord,
  statusCode: number,
  outcome: string,
  { metrics, accessLog, tracing, completions }: ObservabilityOptions,
): void {
  if (record.modelCall) metrics.completed(record, outcome);
  accessLog.writeAccessLine(request, record, statusCode, outcome);
  tracing?.onResponseEnd(record, statusCode);
  if (completions !== undefined) for (const completion of completions) completion(request, record, outcome);
}

/** `ok`, or the error kind; responses refused before any handler get a coarse name from their status. */
export function outcomeOf(record: RequestRecord, statusCode: number, finished: boolean): string {
  if (record.errorKind !== undefined) return record.errorKind;
  if (!finished) return "cancelled";
  if (statusCode < 400) return "ok";
  return statusCode === 401 || statusCode === 403 ? "unauthorized" : "error";
}

/** The protocol of a request; RPC routes serve gRPC, gRPC-web and Connect, told apart by content type. */
export function protocolOf(edge: RouteEdge | undefined, contentType: string | undefined): Protocol {
  if (edge?.rpc !== true) return "http";
  if (contentType?.startsWith("application/grpc-web") === true) return "grpc-web";
  return contentType?.startsWith("application/grpc") === true ? "grpc" : "connect";
}

/** The ProxyError kind of an error Fastify reports (its own 4xx errors are the client's fault). */
function kindOfError(error: Error & { statusCode?: number }): ProxyError["kind"] {
  if (error instanceof ProxyError) return error.kind;
  // As ProxyError.from: a request body cut off (an h2 stream timed out, src/net/h2-request-timeout.ts).
  if (error.name === "AbortError") return "cancelled";
  if (error.statusCode === 413) return "request_too_large";
  return error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
    ? "invalid_request"
    : "internal";
}
