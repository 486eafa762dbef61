/**
 * The server span of one RPC, whichever path serves it: the Connect interceptor (./connect-tracing.ts) and the gRPC
 * fast lane's span hook (`startFastLaneSpan` below) both start it here, so a call gets the same span, name and
 * attributes on either path. node:http2 is not instrumented, so a gRPC call over h2c would otherwise have no span and
 * the core's spans would start an orphan trace. The span continues the caller's W3C `traceparent` (gRPC metadata is
 * HTTP/2 headers) unless the request already has its HTTP server span (HTTP/1.1: ./http-server-span.ts), under which
 * it nests as an INTERNAL span.
 * @see https://opentelemetry.io/docs/specs/semconv/rpc/grpc/
 */
import { Code } from "@connectrpc/connect";
import {
  type Context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";
import type { FastifyRequest } from "fastify";
import * as attr from "./attributes.ts";
import { traceContextOf } from "./edge-trace-context.ts";
import { fastifyHeaderGetter } from "./http-server-span.ts";
import type { RequestRecord } from "./request-record.ts";

/** What the span is started from: the request's headers (any carrier with a getter) and what identifies it. */
export interface RpcSpanStart<Carrier> {
  /** `llmproxy.v1.ChatService/StreamChatCompletion`. */
  readonly method: string;
  readonly headers: Carrier;
  readonly getter: TextMapGetter<Carrier>;
  readonly contentType: string | undefined;
  readonly requestId: string | undefined;
  readonly record: RequestRecord | null | undefined;
}

/** A started span and the context its children start under. */
export interface RpcSpan {
  readonly span: Span;
  readonly context: Context;
}

const tracer = trace.getTracer("llm-proxy");

/**
 * Starts the span (call only with tracing on), or returns undefined when the request is not traced: its HTTP server
 * span was sampled out (that span took the request's one sampling decision), or, without one (HTTP/2), this span was
 * sampled out and continues no caller's trace (./edge-trace-context.ts).
 */
export function startRpcSpan<Carrier>(start: RpcSpanStart<Carrier>): RpcSpan | undefined {
  const httpSpan = start.record?.edgeSpan;
  if (httpSpan !== undefined && !httpSpan.isRecording()) return undefined;
  const active = start.record?.edgeContext ?? ROOT_CONTEXT;
  const underHttpSpan = trace.getSpan(active) !== undefined;
  const parent = underHttpSpan ? active : propagation.extract(active, start.headers, start.getter);
  const span = tracer.startSpan(
    start.method,
    { kind: underHttpSpan ? SpanKind.INTERNAL : SpanKind.SERVER },
    parent,
  );
  const spanContext = traceContextOf(parent, span);
  if (spanContext === undefined) return undefined;
  if (span.isRecording()) {
    span.setAttributes({
      [attr.ATTR_RPC_SYSTEM]: "grpc",
      [attr.ATTR_RPC_METHOD]: start.method,
      [attr.ATTR_RPC_PROTOCOL]: start.contentType,
      [attr.ATTR_REQUEST_ID]: start.requestId,
    });
  }
  return { span, context: spanContext };
}

/** Ends the span with the status of the call's failure (undefined: OK) and its message. */
export function endRpcSpan(span: Span, code: Code | undefined, message: string | undefined): void {
  if (span.isRecording()) {
    span.setAttribute(attr.ATTR_RPC_STATUS_CODE, code === undefined ? "OK" : codeName(code));
    if (code !== undefined) {
      span.setAttribute(attr.ATTR_ERROR_TYPE, codeName(code));
      span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
  }
  span.end();
}

/**
 * The fast lane's span hook: starts the call's span and makes it the parent of the core's spans (the record's edge
 * context, which the core reads first), and returns the function that ends it with the call's status.
 */
export function startFastLaneSpan(
  request: FastifyRequest,
  method: string,
): (code: Code | undefined, message: string | undefined) => void {
  const record = request.record;
  const rpcSpan = startRpcSpan({
    method,
    headers: request.headers,
    getter: fastifyHeaderGetter,
    contentType: request.headers["content-type"],
    requestId: request.id,
    record,
  });
  if (rpcSpan === undefined) return endNothing;
  if (record !== null) record.edgeContext = rpcSpan.context;
  return (code, message) => endRpcSpan(rpcSpan.span, code, message);
}

/** The end of a call that is not traced. */
function endNothing(): void {}

/** `NotFound` → `NOT_FOUND`, gRPC's spelling. */
function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
