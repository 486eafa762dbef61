/**
 * Abort plumbing of one request: the client's signal plus the total budget (`proxy.timeout`), and per attempt
 * a child that can also time out on its own (first token, stream idle). One timer each, always cleared, so
 * finished requests leave no timers or listeners behind.
 */
import { ProxyError } from "./errors.ts";

/**
 * An abort signal with a re-armable timer (the deadline) and a link to its parent (the client's signal, or the
 * request's deadline for an attempt's); `dispose` releases the timer and the link.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Aborts now with `reason` (no-op when already aborted). */
  abort(reason: ProxyError): void;
  /** (Re)starts the timer: after `ms` without another arm, the deadline aborts with `reason()`. */
  arm(ms: number, reason: () => ProxyError): void;
  /** Stops the timer without aborting. */
  disarm(): void;
  /** Releases the timer and the link to the parent. */
  dispose(): void;
}

/**
 * A deadline that aborts when its parent aborts (with the parent's reason) or when its own timer fires. A parent
 * deadline reaches its children with a plain call; only a foreign parent signal (the edge's) costs an event
 * listener, which is what Node's AbortSignal makes expensive.
 */
export function createDeadline(parent: AbortSignal | Deadline): Deadline {
  return new LinkedDeadline(parent);
}

class LinkedDeadline implements Deadline {
  readonly #controller = new AbortController();
  readonly #parent: AbortSignal | LinkedDeadline;
  #children: Set<LinkedDeadline> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #armedMs = 0;
  #timeoutReason: (() => ProxyError) | undefined;
  readonly #fire = (): void => {
    if (this.#timeoutReason !== undefined) this.abort(this.#timeoutReason());
  };

  constructor(parent: AbortSignal | Deadline) {
    if (!(parent instanceof LinkedDeadline) && !(parent instanceof AbortSignal)) {
      throw new TypeError("createDeadline: the parent must be an AbortSignal or a deadline of this module");
    }
    this.#parent = parent;
    const parentSignal = parent instanceof LinkedDeadline ? parent.signal : parent;
    if (parentSignal.aborted) this.#controller.abort(parentSignal.reason);
    else if (parent instanceof LinkedDeadline) {
      parent.#children ??= new Set();
      parent.#children.add(this);
    } else parent.addEventListener("abort", this, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The foreign parent signal aborted. */
  handleEvent(): void {
    this.abort((this.#parent as AbortSignal).reason);
  }

  abort(reason: unknown): void {
    if (this.#controller.signal.aborted) return;
    this.#controller.abort(reason);
    const children = this.#children;
    if (children !== undefined) for (const child of children) child.abort(reason);
  }

  arm(ms: number, reason: () => ProxyError): void {
    this.#timeoutReason = reason;
    // refresh() re-arms the same timer: cheaper than a new one per stream chunk.
    if (this.#timer !== undefined && this.#armedMs === ms) {
      this.#timer.refresh();
      return;
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedMs = ms;
    this.#timer = setTimeout(this.#fire, ms);
  }

  disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  dispose(): void {
    this.disarm();
    const parent = this.#parent;
    if (parent instanceof LinkedDeadline) parent.#children?.delete(this);
    else parent.removeEventListener("abort", this);
  }
}

/**
 * Turns whatever an aborted or failed attempt threw into the ProxyError to report: the client's cancel (or its
 * own deadline), our budget, an attempt timeout, or the adapter's own error.
 */
export function failureOf(error: unknown, clientSignal: AbortSignal, deadline: AbortSignal): ProxyError {
  if (clientSignal.aborted) {
    const reason: unknown = clientSignal.reason;
    // The edge's own deadline (grpc-timeout): a platform TimeoutError, or the edge kit's timeout ProxyError.
    const timedOut =
      reason instanceof ProxyError
        ? reason.kind === "timeout"
        : reason instanceof Error && reason.name === "TimeoutError";
    if (timedOut) {
      return new ProxyError("timeout", "The caller's deadline was exceeded.", {
        cause: error,
        retryable: false,
      });
    }
    return new ProxyError("cancelled", "The client cancelled the request.", { cause: error });
  }
  if (deadline.aborted && deadline.reason instanceof ProxyError) return deadline.reason;
  return ProxyError.from(error);
}
