import { ITERATOR_DONE } from "./iterator-done.ts";

/**
 * An async iterator that runs `open` (build the upstream body and POST it; decode an RPC and open the core's
 * stream) on its first `next()` and then yields from what `open` returned (the reader of the answer). `open` is
 * dropped as soon as it is called, and with it the request it captured: a stream written as one generator keeps
 * its `request` parameter, and so the whole prompt, alive until the last chunk of the answer; a long stream with
 * a large prompt then costs a copy of the prompt for minutes (test/providers/prompt-release.test.ts). `return()`
 * before the first `next()` never calls `open`.
 */
export function startOnFirstRead<T>(open: () => Promise<AsyncIterable<T>>): AsyncIterableIterator<T> {
  return new DeferredIterator(open);
}

function nextOf<T>(iterator: AsyncIterator<T>): Promise<IteratorResult<T>> {
  return iterator.next();
}

class DeferredIterator<T> implements AsyncIterableIterator<T> {
  #open: (() => Promise<AsyncIterable<T>>) | undefined;
  /** The inner iterator once `open` has run; shared by calls that arrive while it runs. */
  #inner: Promise<AsyncIterator<T>> | undefined;
  /** The same once settled: later reads (one per batch, the hot path) skip the extra await. */
  #ready: AsyncIterator<T> | undefined;
  #closed = false;

  constructor(open: () => Promise<AsyncIterable<T>>) {
    this.#open = open;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    // Not async: returning the inner promise as is costs no extra turns of the microtask queue.
    if (this.#ready !== undefined) return this.#ready.next();
    return this.#firstNext();
  }

  #firstNext(): Promise<IteratorResult<T>> {
    const inner = this.#start();
    return inner === undefined ? Promise.resolve(ITERATOR_DONE) : inner.then(nextOf);
  }

  /**
   * Closes the inner iterator, waiting for `open` if it is still running: what it opened (an upstream request)
   * is released instead of being left to its timeouts.
   */
  async return(value?: unknown): Promise<IteratorResult<T>> {
    this.#closed = true;
    this.#open = undefined;
    const pending = this.#inner;
    if (pending === undefined) return ITERATOR_DONE;
    let inner: AsyncIterator<T>;
    try {
      inner = await pending;
    } catch {
      return ITERATOR_DONE;
    }
    return inner.return === undefined ? ITERATOR_DONE : inner.return(value);
  }

  #start(): Promise<AsyncIterator<T>> | undefined {
    if (this.#inner === undefined) {
      const open = this.#open;
      if (open === undefined || this.#closed) return undefined;
      this.#open = undefined;
      this.#inner = open().then((iterable) => {
        this.#ready = iterable[Symbol.asyncIterator]();
        return this.#ready;
      });
    }
    return this.#inner;
  }
}
