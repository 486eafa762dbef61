/**
 * What a Connect handler knows about its call, turned into the core's CallOptions: the Fastify request's id, logger
 * and record (the edge kit's EdgeRequest, handed over through connect-fastify's `contextValues`) and an abort signal
 * the core understands.
 */
import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { CallOptions } from "../core/chat-stream.ts";
import { ProxyError } from "../core/errors.ts";
import { callDeadlineError, callOptionsOf, clientGoneError, type EdgeRequest } from "../edge/index.ts";

/** Context key the plugin fills for every RPC with the Fastify request it came in as. */
export const kEdgeRequest = createContextKey<EdgeRequest | undefined>(undefined, {
  description: "llm-proxy: the Fastify request of the call",
});

/** The Fastify request of a Connect call. Throws if the plugin did not provide it (a wiring bug). */
function edgeRequestOf(context: HandlerContext): EdgeRequest {
  const request = context.values.get(kEdgeRequest);
  if (request === undefined) {
    throw new ProxyError("internal", "Internal error in the gateway.", {
      cause: new Error("grpc: the Fastify request is missing from the Connect context values"),
    });
  }
  return request;
}

/** The core's options for one Connect call. */
export function connectCallOptions(context: HandlerContext): CallOptions {
  return callOptionsOf(edgeRequestOf(context), toCoreSignal(context.signal));
}

/**
 * Connect aborts `context.signal` with a ConnectError (Canceled on RST_STREAM, DeadlineExceeded on grpc-timeout,
 * or the shutdown's error). The core understands ProxyErrors, not ConnectErrors: hand it the reasons every edge
 * gives it (the edge kit's, or the shutdown's own ProxyError), translated once here.
 */
function toCoreSignal(signal: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const abort = (): void => controller.abort(toCoreReason(signal.reason));
  if (signal.aborted) abort();
  else signal.addEventListener("abort", abort, { once: true });
  return controller.signal;
}

function toCoreReason(reason: unknown): ProxyError {
  if (reason instanceof ConnectError) {
    if (reason.cause instanceof ProxyError) return reason.cause;
    if (reason.code === Code.DeadlineExceeded) return callDeadlineError();
  }
  return clientGoneError();
}
