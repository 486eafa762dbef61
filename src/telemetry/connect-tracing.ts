/**
 * The RPC edge's server span, from a Connect interceptor: the http instrumentation does not see node:http2, so a
 * gRPC call over h2c would otherwise have no span and the core's spans would start an orphan trace. The span
 * continues the caller's W3C `traceparent` (gRPC metadata is HTTP/2 headers) and lasts the whole response stream.
 * Over HTTP/1.1 (Connect, gRPC-web) the request already has its HTTP server span (./http-server-span.ts): this one
 * nests under it.
 * @see https://opentelemetry.io/docs/specs/semconv/rpc/grpc/
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";
import { kRequestScope } from "../grpc/call-options.ts";
import * as attr from "./attributes.ts";

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/** Creates the interceptor (register it on the Connect plugin only when tracing is on). */
export function createTracingInterceptor(): Interceptor {
  const tracer = trace.getTracer("llm-proxy");
  return (next) => async (request) => {
    const active = request.contextValues.get(kRequestScope)?.record?.edgeContext ?? context.active();
    const underHttpSpan = trace.getSpan(active) !== undefined;
    const parent = underHttpSpan ? active : propagation.extract(active, request.header, headerGetter);
    const method = `${request.service.typeName}/${request.method.name}`;
    const span = tracer.startSpan(
      method,
      { kind: underHttpSpan ? SpanKind.INTERNAL : SpanKind.SERVER },
      parent,
    );
    if (span.isRecording()) {
      span.setAttributes({
        [attr.ATTR_RPC_SYSTEM]: "grpc",
        [attr.ATTR_RPC_METHOD]: method,
        [attr.ATTR_RPC_PROTOCOL]: request.header.get("content-type") ?? undefined,
        [attr.ATTR_REQUEST_ID]: request.contextValues.get(kRequestScope)?.id,
      });
    }
    const spanContext = trace.setSpan(parent, span);
    try {
      const response = await context.with(spanContext, () => next(request));
      if (!response.stream) {
        endRpcSpan(span, undefined);
        return response;
      }
      return { ...response, message: traceStream(response.message, span, spanContext) };
    } catch (error) {
      endRpcSpan(span, error);
      throw error;
    }
  };
}

/**
 * Runs each step of the handler's stream inside the span's context (a server-streaming handler only starts, and
 * calls the core, when Connect pulls its first message) and ends the span when the stream does.
 */
async function* traceStream<T>(
  messages: AsyncIterable<T>,
  span: Span,
  spanContext: Context,
): AsyncGenerator<T> {
  const iterator = messages[Symbol.asyncIterator]();
  let done = false;
  let failure: unknown;
  try {
    for (;;) {
      const result = await context.with(spanContext, () => iterator.next());
      if (result.done === true) break;
      yield result.value;
    }
    done = true;
  } catch (error) {
    failure = error;
    done = true;
    throw error;
  } finally {
    // Connect stopped reading (client gone): close the handler's stream so it releases the upstream.
    if (!done) await iterator.return?.();
    endRpcSpan(span, failure ?? (done ? undefined : new ConnectError("stream closed early", Code.Canceled)));
  }
}

function endRpcSpan(span: Span, error: unknown): void {
  if (span.isRecording()) {
    const code = error === undefined ? undefined : ConnectError.from(error).code;
    span.setAttribute(attr.ATTR_RPC_STATUS_CODE, code === undefined ? "OK" : codeName(code));
    if (code !== undefined) {
      span.setAttribute(attr.ATTR_ERROR_TYPE, codeName(code));
      span.setStatus({ code: SpanStatusCode.ERROR, message: ConnectError.from(error).rawMessage });
    }
  }
  span.end();
}

/** `NotFound` → `NOT_FOUND`, gRPC's spelling. */
function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
