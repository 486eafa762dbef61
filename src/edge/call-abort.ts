/**
 * The abort signal of one edge call: it aborts when the client goes away before the call ended, when the call's
 * own deadline (e.g. `grpc-timeout`) passes, or when shutdown ends the calls still in flight. Fastify's
 * request.signal and `request.raw` 'close' are unreliable for POST over HTTP/1.1
 * (docs/platform-notes.md#client-disconnect); the response's 'close' plus our own "ended" flag is not.
 *
 * The shutdown signal gets one listener per edge (a set of the calls in flight), not one per call: an AbortSignal
 * listener costs more than the rest of this put together.
 */
import { ProxyError } from "../core/errors.ts";

/** What ended a call early: the client left, its deadline passed, or the gateway is shutting down. */
export type AbortCause = "client" | "deadline" | "shutdown";

/** What the watcher needs of a response: its 'close' event (HTTP/1.1, HTTP/2 compat, or any stream). */
export interface ClosingResponse {
  on(event: "close", listener: () => void): unknown;
}

/** The calls of one edge; `shutdownSignal` (aborted with a ProxyError, src/shutdown.ts) ends them all. */
export class CallAborts {
  readonly #inFlight = new Set<CallAbort>();
  readonly shutdownSignal: AbortSignal | undefined;

  constructor(shutdownSignal: AbortSignal | undefined) {
    this.shutdownSignal = shutdownSignal;
    shutdownSignal?.addEventListener(
      "abort",
      () => {
        for (const call of this.#inFlight) call.abort("shutdown", shutdownSignal.reason);
      },
      { once: true },
    );
  }

  /** Starts watching one call; `deadlineMs` (optional) aborts it after that long. Call `end()` when it is over. */
  watch(response: ClosingResponse, deadlineMs?: number): CallAbort {
    return new CallAbort(this, this.#inFlight, response, deadlineMs);
  }

  /** The shutdown's reason while shutting down (it is what the client must be told), else undefined. */
  shutdownReason(): ProxyError | undefined {
    const shutdown = this.shutdownSignal;
    return shutdown?.aborted === true && shutdown.reason instanceof ProxyError ? shutdown.reason : undefined;
  }
}

/** One call's signal, and how to tell why it ended. */
export class CallAbort {
  readonly #controller = new AbortController();
  readonly #owner: CallAborts;
  readonly #inFlight: Set<CallAbort>;
  #timer: NodeJS.Timeout | undefined;
  #cause: AbortCause | undefined;
  #ended = false;
  #closed = false;

  constructor(owner: CallAborts, inFlight: Set<CallAbort>, response: ClosingResponse, deadlineMs?: number) {
    this.#owner = owner;
    this.#inFlight = inFlight;
    const shutdown = owner.shutdownSignal;
    if (shutdown?.aborted === true) this.abort("shutdown", shutdown.reason);
    else inFlight.add(this);
    response.on("close", this.#onClose);
    if (deadlineMs !== undefined) this.#timer = setTimeout(this.#onDeadline, deadlineMs);
  }

  /** Aborted when the call must stop; its reason is a ProxyError the core understands. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Why the call was aborted, if it was. */
  get cause(): AbortCause | undefined {
    return this.#cause;
  }

  /** The response closed before the call ended: the client is gone, nothing more can reach it. */
  get clientGone(): boolean {
    return this.#closed;
  }

  /** The call is over (answered or failed): a later 'close' is the normal end, not the client leaving. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#inFlight.delete(this);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  /**
   * The error to report for a failure: the shutdown's own when shutdown is ending the calls, a timeout when the
   * call's deadline passed, else the failure itself.
   */
  failure(error: unknown): ProxyError {
    const shutdown = this.#owner.shutdownReason();
    if (shutdown !== undefined) return shutdown;
    if (this.#cause === "deadline") return deadlineError(error);
    return ProxyError.from(error);
  }

  /** Aborts with `reason` (no-op once aborted). */
  abort(cause: AbortCause, reason: unknown): void {
    if (this.#controller.signal.aborted) return;
    this.#cause = cause;
    this.#controller.abort(reason);
  }

  readonly #onClose = (): void => {
    if (this.#ended) return;
    this.#closed = true;
    this.abort("client", clientGoneError());
    this.end();
  };

  readonly #onDeadline = (): void => {
    this.#timer = undefined;
    this.abort("deadline", callDeadlineError());
  };
}

/**
 * The reason a call's signal aborts with when its client left. Exported for edges whose framework watches the
 * client itself (Connect's handler), so the core gets the same reasons from every edge.
 */
export function clientGoneError(): ProxyError {
  return new ProxyError("cancelled", "The client closed the connection.");
}

/** The reason a call's signal aborts with when the call's own deadline passed (`cause`: what it interrupted). */
export function callDeadlineError(cause?: unknown): ProxyError {
  return new ProxyError("timeout", "The request deadline was exceeded.", { cause });
}

function deadlineError(error: unknown): ProxyError {
  return error instanceof ProxyError && error.kind === "timeout" ? error : callDeadlineError(error);
}
