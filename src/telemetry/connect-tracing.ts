/**
 * The RPC server span for calls Connect's handler serves (gRPC-web, the Connect protocol, compressed gRPC,
 * ListModels), from a Connect interceptor; plain gRPC chat calls take the fast lane, whose span hook starts the same
 * span (./rpc-span.ts). The span lasts the whole response stream.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Span, TextMapGetter } from "@opentelemetry/api";
import { kEdgeRequest } from "../grpc/call-options.ts";
import { endRpcSpan, startRpcSpan } from "./rpc-span.ts";

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/** Creates the interceptor (register it on the Connect plugin only when tracing is on). */
export function createTracingInterceptor(): Interceptor {
  return (next) => async (request) => {
    const edgeRequest = request.contextValues.get(kEdgeRequest);
    const record = edgeRequest?.record;
    const rpcSpan = startRpcSpan({
      method: `${request.service.typeName}/${request.method.name}`,
      headers: request.header,
      getter: headerGetter,
      contentType: request.header.get("content-type") ?? undefined,
      requestId: edgeRequest?.id,
      record,
    });
    if (rpcSpan === undefined) return next(request);
    const { span, context: spanContext } = rpcSpan;
    // Over HTTP/2 this span is the edge's: the core starts its spans under it (over HTTP/1.1, under the HTTP span).
    if (record !== null && record !== undefined) record.edgeContext ??= spanContext;
    try {
      const response = await next(request);
      if (!response.stream) {
        endRpcSpan(span, undefined, undefined);
        return response;
      }
      return { ...response, message: traceStream(response.message, span) };
    } catch (error) {
      endWithError(span, error);
      throw error;
    }
  };
}

/** Passes the handler's stream on and ends the span when the stream does, however it ends. */
async function* traceStream<T>(messages: AsyncIterable<T>, span: Span): AsyncGenerator<T> {
  const iterator = messages[Symbol.asyncIterator]();
  let done = false;
  let failure: unknown;
  try {
    for (;;) {
      const result = await iterator.next();
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
    if (failure !== undefined) endWithError(span, failure);
    else if (done) endRpcSpan(span, undefined, undefined);
    else endRpcSpan(span, Code.Canceled, "stream closed early");
  }
}

function endWithError(span: Span, error: unknown): void {
  const connectError = ConnectError.from(error);
  endRpcSpan(span, connectError.code, connectError.rawMessage);
}
