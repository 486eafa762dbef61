/**
 * What a Connect handler knows about its call, turned into the core's CallOptions: the Fastify request's id and
 * logger (handed over through connect-fastify's `contextValues`) and an abort signal the core understands.
 */
import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { FastifyBaseLogger } from "fastify";
import type { CallOptions } from "../core/chat-stream.ts";
import { ProxyError } from "../core/errors.ts";
import { observeRequest } from "../telemetry/request-lifecycle.ts";
import type { RequestRecord } from "../telemetry/request-record.ts";

/** The parts of the Fastify request a handler needs. */
export interface RequestScope {
  readonly id: string;
  readonly log: FastifyBaseLogger;
  /** The request's record for the access log and metrics. */
  readonly record?: RequestRecord | null;
}

/** Context key the plugin fills for every RPC from the Fastify request. */
export const kRequestScope = createContextKey<RequestScope | undefined>(undefined, {
  description: "llm-proxy Fastify request scope",
});

/** The core's options for one RPC. Throws if the plugin did not provide the request scope (a wiring bug). */
export function callOptionsFrom(context: HandlerContext): CallOptions {
  const scope = context.values.get(kRequestScope);
  if (scope === undefined) {
    throw new ProxyError("internal", "Internal error in the gateway.", {
      cause: new Error("grpc: request scope missing from the Connect context values"),
    });
  }
  return {
    signal: toCoreSignal(context.signal),
    log: scope.log,
    requestId: scope.id,
    observer: observeRequest(scope.record),
  };
}

/**
 * Connect aborts `context.signal` with a ConnectError (Canceled on RST_STREAM, DeadlineExceeded on grpc-timeout,
 * or the shutdown error). The core and the adapters normalise abort reasons with ProxyError.from, which knows the
 * platform's AbortError/TimeoutError, not ConnectError; so translate once here instead of teaching the core Connect.
 */
function toCoreSignal(signal: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const abort = (): void => controller.abort(toPlatformReason(signal.reason));
  if (signal.aborted) abort();
  else signal.addEventListener("abort", abort, { once: true });
  return controller.signal;
}

function toPlatformReason(reason: unknown): DOMException {
  if (reason instanceof ConnectError && reason.code === Code.DeadlineExceeded) {
    return new DOMException("The RPC deadline was exceeded.", "TimeoutError");
  }
  return new DOMException("The RPC was cancelled.", "AbortError");
}
