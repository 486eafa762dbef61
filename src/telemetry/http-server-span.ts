/**
 * The HTTP server span of each HTTP/1.1 request, started in the first onRequest hook and ended when the response
 * closes: `POST /v1/chat/completions`, kind SERVER, continuing the caller's W3C `traceparent`, with the stable HTTP
 * semantic-convention attributes and `request.id`. The gateway makes this span itself rather than load the http
 * instrumentation, which wraps every request and binds both of its event emitters to the span's context (about
 * 100 µs of CPU per request); the core and the Connect interceptor find the span's context in the request's
 * record instead. HTTP/2 requests (gRPC) get their server span from the Connect interceptor.
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/
 */
import {
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";
import type { FastifyRequest } from "fastify";
import { ATTR_ERROR_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_REQUEST_ID } from "./attributes.ts";
import { traceContextOf } from "./edge-trace-context.ts";
import type { RequestRecord } from "./request-record.ts";

/** Paths not worth a trace: scrapes and probes. */
const UNTRACED_PATHS: ReadonlySet<string> = new Set(["/metrics", "/health", "/ready"]);

type Headers = FastifyRequest["headers"];

/** Reads `traceparent` and friends from a Fastify request's headers (also the gRPC fast lane's, ./rpc-span.ts). */
export const fastifyHeaderGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers[key],
  keys: (headers) => Object.keys(headers),
};

const SERVER_SPAN = { kind: SpanKind.SERVER };

/**
 * Whether the request carries any header the global propagator reads (`traceparent`, `tracestate`, `baggage`).
 * Most requests carry none, and extracting from them would only return the root context, at a few µs a request
 * under load: the cost every request pays at sample ratios below 1.
 */
function carriesTraceContext(headers: Headers): boolean {
  for (const field of propagation.fields()) {
    if (headers[field] !== undefined) return true;
  }
  return false;
}

/** Starts and ends the server spans of one app. */
export interface HttpServerSpans {
  start(request: FastifyRequest, record: RequestRecord): void;
  end(record: RequestRecord, statusCode: number): void;
}

/** Creates them; spans come from the global tracer provider the SDK registered. */
export function createHttpServerSpans(): HttpServerSpans {
  const tracer = trace.getTracer("llm-proxy");
  return {
    start(request, record) {
      if (request.raw.httpVersionMajor !== 1) return;
      const path = request.url.split("?")[0] ?? request.url;
      if (UNTRACED_PATHS.has(path)) return;
      const parent = carriesTraceContext(request.headers)
        ? propagation.extract(ROOT_CONTEXT, request.headers, fastifyHeaderGetter)
        : ROOT_CONTEXT;
      // The request's one sampling decision (./edge-trace-context.ts). The configured samplers do not read the
      // span's name, so the route (Fastify builds a new routeOptions object on every read) is looked up only for
      // a span that records.
      const span = tracer.startSpan(request.method, SERVER_SPAN, parent);
      record.edgeSpan = span;
      record.edgeContext = traceContextOf(parent, span);
      if (span.isRecording()) {
        const route = request.routeOptions.url;
        if (route !== undefined) span.updateName(`${request.method} ${route}`);
        record.traceId = span.spanContext().traceId;
        span.setAttributes({
          "http.request.method": request.method,
          "http.route": route,
          "url.path": path,
          "url.scheme": request.protocol,
          "server.address": request.hostname,
          "network.protocol.version": request.raw.httpVersion,
          "client.address": request.socket.remoteAddress,
          "user_agent.original": request.headers["user-agent"],
          [ATTR_REQUEST_ID]: request.id,
        });
      }
    },
    end(record, statusCode) {
      const span = record.edgeSpan;
      if (span === undefined) return;
      record.edgeSpan = undefined;
      if (span.isRecording()) {
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, statusCode);
        if (statusCode >= 500) {
          span.setAttribute(ATTR_ERROR_TYPE, String(statusCode));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
      }
      span.end();
    },
  };
}
