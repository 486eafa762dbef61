/**
 * Abort plumbing of one request: the client's signal plus the total budget (`proxy.timeout`), and per attempt
 * a child that can also time out on its own (first token, stream idle). One timer each, always cleared, so
 * finished requests leave no timers or listeners behind.
 */
import { ProxyError } from "./errors.ts";

/** An abort scope whose timer and parent listener are released by `dispose`. */
export interface AbortScope {
  readonly signal: AbortSignal;
  /** Aborts now with `reason` (no-op when already aborted). */
  abort(reason: ProxyError): void;
  /** (Re)starts the scope's timer: after `ms` without another arm, the scope aborts with `reason()`. */
  arm(ms: number, reason: () => ProxyError): void;
  /** Stops the timer without aborting. */
  disarm(): void;
  /** Releases the timer and the link to the parent. */
  dispose(): void;
}

/** A scope that aborts when `parent` aborts (with the parent's reason) or when its own timer fires. */
export function createAbortScope(parent: AbortSignal): AbortScope {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let armedMs = 0;
  let timeoutReason: (() => ProxyError) | undefined;
  const onParentAbort = (): void => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener("abort", onParentAbort, { once: true });
  const fire = (): void => {
    if (timeoutReason !== undefined) controller.abort(timeoutReason());
  };
  return {
    signal: controller.signal,
    abort(reason) {
      controller.abort(reason);
    },
    arm(ms, reason) {
      timeoutReason = reason;
      // refresh() re-arms the same timer: cheaper than a new one per stream chunk.
      if (timer !== undefined && armedMs === ms) {
        timer.refresh();
        return;
      }
      if (timer !== undefined) clearTimeout(timer);
      armedMs = ms;
      timer = setTimeout(fire, ms);
    },
    disarm() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      parent.removeEventListener("abort", onParentAbort);
    },
  };
}

/**
 * Turns whatever an aborted or failed attempt threw into the ProxyError to report: the client's cancel (or its
 * own deadline), our budget, an attempt timeout, or the adapter's own error.
 */
export function failureOf(error: unknown, clientSignal: AbortSignal, scope: AbortSignal): ProxyError {
  if (clientSignal.aborted) {
    const reason: unknown = clientSignal.reason;
    if (reason instanceof Error && reason.name === "TimeoutError") {
      return new ProxyError("timeout", "The caller's deadline was exceeded.", {
        cause: error,
        retryable: false,
      });
    }
    return new ProxyError("cancelled", "The client cancelled the request.", { cause: error });
  }
  if (scope.aborted && scope.reason instanceof ProxyError) return scope.reason;
  return ProxyError.from(error);
}
