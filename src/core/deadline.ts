/**
 * Abort plumbing of one request: the client's signal plus the total budget (`proxy.timeout`), and per attempt
 * a child that can also time out on its own (first token, stream idle). One timer each, always cleared, so
 * finished requests leave no timers or listeners behind.
 */
import { ProxyError } from "./errors.ts";

/** An abort scope whose timer and parent link are released by `dispose`. */
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

/**
 * A scope that aborts when its parent aborts (with the parent's reason) or when its own timer fires. A parent
 * scope reaches its children with a plain call; only a foreign parent signal (the edge's) costs an event
 * listener, which is what Node's AbortSignal makes expensive.
 */
export function createAbortScope(parent: AbortSignal | AbortScope): AbortScope {
  return new Scope(parent);
}

class Scope implements AbortScope {
  readonly #controller = new AbortController();
  readonly #parent: AbortSignal | Scope;
  #children: Set<Scope> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #armedMs = 0;
  #timeoutReason: (() => ProxyError) | undefined;
  readonly #fire = (): void => {
    if (this.#timeoutReason !== undefined) this.abort(this.#timeoutReason());
  };

  constructor(parent: AbortSignal | AbortScope) {
    if (!(parent instanceof Scope) && !(parent instanceof AbortSignal)) {
      throw new TypeError("createAbortScope: the parent must be an AbortSignal or a scope of this module");
    }
    this.#parent = parent;
    const parentSignal = parent instanceof Scope ? parent.signal : parent;
    if (parentSignal.aborted) this.#controller.abort(parentSignal.reason);
    else if (parent instanceof Scope) {
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
    if (parent instanceof Scope) parent.#children?.delete(this);
    else parent.removeEventListener("abort", this);
  }
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
