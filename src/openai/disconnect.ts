/**
 * The abort signal of one facade call: it aborts when the client goes away before we finished, or when shutdown
 * ends the calls still in flight. Fastify's request.signal and `request.raw` 'close' are unreliable for POST over
 * HTTP/1.1 (docs/platform-notes.md#client-disconnect); `reply.raw` 'close' plus our own flag is not.
 *
 * The shutdown signal gets one listener for all calls (a set of the calls in flight), not one per call: an
 * AbortSignal listener costs more than the rest of this put together.
 */
import type { FastifyReply } from "fastify";
import { ProxyError } from "../core/errors.ts";

/** The abort signal of one call, and how to tell a shutdown from the client leaving. */
export interface Disconnect {
  readonly signal: AbortSignal;
  markEnded(): void;
  /** The error to report for a failure: the shutdown's own when shutdown ended the call. */
  failure(error: unknown): ProxyError;
  rethrow(error: unknown): never;
}

/** Watches each call of one plugin; `shutdownSignal` ends them all (with its reason). */
export function createDisconnectWatcher(
  shutdownSignal: AbortSignal | undefined,
): (reply: FastifyReply) => Disconnect {
  const inFlight = new Set<AbortController>();
  shutdownSignal?.addEventListener(
    "abort",
    () => {
      for (const controller of inFlight) controller.abort(shutdownSignal.reason);
    },
    { once: true },
  );
  const failure = (error: unknown): ProxyError =>
    shutdownSignal?.aborted === true && shutdownSignal.reason instanceof ProxyError
      ? shutdownSignal.reason
      : ProxyError.from(error);
  const rethrow = (error: unknown): never => {
    throw failure(error);
  };
  return (reply) => {
    const controller = new AbortController();
    let ended = false;
    if (shutdownSignal?.aborted === true) controller.abort(shutdownSignal.reason);
    else inFlight.add(controller);
    reply.raw.on("close", () => {
      inFlight.delete(controller);
      if (!ended) controller.abort(new ProxyError("cancelled", "The client closed the connection."));
    });
    return {
      signal: controller.signal,
      markEnded: () => {
        ended = true;
      },
      failure,
      rethrow,
    };
  };
}
