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

class DeferredIterator<T> implements AsyncIterableIterator<T> {
  #open: (() => Promise<AsyncIterable<T>>) | undefined;
  #inner: AsyncIterator<T> | undefined;

  constructor(open: () => Promise<AsyncIterable<T>>) {
    this.#open = open;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  async next(): Promise<IteratorResult<T>> {
    if (this.#inner === undefined) {
      const open = this.#open;
      if (open === undefined) return { done: true, value: undefined };
      this.#open = undefined;
      this.#inner = (await open())[Symbol.asyncIterator]();
    }
    return this.#inner.next();
  }

  async return(value?: unknown): Promise<IteratorResult<T>> {
    this.#open = undefined;
    const inner = this.#inner;
    if (inner?.return !== undefined) return inner.return(value);
    return { done: true, value: undefined };
  }
}
