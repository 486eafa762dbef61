/**
 * The body of an upstream response as the transport receives it: undici's handler pushes the bytes of each
 * network read, the adapter pulls them. A pull returns everything that arrived since the previous one in one
 * buffer, and a pull that had to wait is answered one microtask after the first bytes arrive, so the chunks
 * undici parses out of one socket read (one per SSE event, with chunked encoding) reach the adapter together:
 * one promise per read instead of one per event, and batches of events for the layers above.
 *
 * Leaving early (`return()`) aborts the request only if the response is still open; a body read to its end
 * leaves the keep-alive connection in the pool.
 */

/** What the body needs from undici's request controller. */
export interface BodyController {
  abort(reason: Error): void;
  pause(): void;
  resume(): void;
}

/** Above this many unread bytes the body stops reading from the socket until the adapter catches up. */
const HIGH_WATER_BYTES = 256 * 1024;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** Given to undici when the reader leaves before the end: the error nobody sees, made once. */
const ABANDONED = new Error("upstream response body abandoned by its reader");

/** A single-reader byte queue fed by undici's handler callbacks. */
export class UpstreamBody implements AsyncIterableIterator<Uint8Array> {
  readonly #controller: BodyController;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #paused = false;
  #ended = false;
  #error: unknown;
  #waiter: PromiseWithResolvers<IteratorResult<Uint8Array>> | undefined;
  #flushScheduled = false;
  readonly #flush = (): void => this.#answerWaiter();

  constructor(controller: BodyController) {
    this.#controller = controller;
  }

  /** Whether the response has ended (successfully or not). */
  get settled(): boolean {
    return this.#ended || this.#error !== undefined;
  }

  /** Bytes of one network read (undici's handler). */
  push(chunk: Buffer): void {
    if (this.settled) return;
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.length;
    if (this.#queuedBytes > HIGH_WATER_BYTES && !this.#paused) {
      this.#paused = true;
      this.#controller.pause();
    }
    this.#wake();
  }

  /** The response ended (undici's handler). */
  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** The response failed mid-way (undici's handler, or our abort). */
  fail(error: unknown): void {
    if (this.settled) return;
    this.#error = error ?? new Error("upstream response failed");
    this.#wake();
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#waiter !== undefined) return Promise.reject(new Error("upstream body: concurrent reads"));
    const ready = this.#take();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#error !== undefined) return Promise.reject(this.#error);
    this.#waiter = Promise.withResolvers();
    return this.#waiter.promise;
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.settled) {
      this.#ended = true;
      this.#controller.abort(ABANDONED);
    }
    this.#queue = [];
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The whole body as UTF-8 text. */
  async text(): Promise<string> {
    const parts: Uint8Array[] = [];
    for (let next = await this.next(); next.done !== true; next = await this.next()) parts.push(next.value);
    return parts.length === 1 && parts[0] !== undefined
      ? Buffer.from(parts[0].buffer, parts[0].byteOffset, parts[0].byteLength).toString("utf8")
      : Buffer.concat(parts).toString("utf8");
  }

  #wake(): void {
    if (this.#waiter === undefined || this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Later: undici delivers the other events of this socket read synchronously after this one.
    queueMicrotask(this.#flush);
  }

  #answerWaiter(): void {
    this.#flushScheduled = false;
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    const ready = this.#take();
    if (ready !== undefined) waiter.resolve(ready);
    else if (this.#error !== undefined) waiter.reject(this.#error);
    else this.#waiter = waiter;
  }

  /** The queued bytes as one result, or the end; undefined when there is nothing (or only a failure). */
  #take(): IteratorResult<Uint8Array> | undefined {
    const queue = this.#queue;
    if (queue.length > 0) {
      const value = queue.length === 1 ? (queue[0] as Buffer) : Buffer.concat(queue, this.#queuedBytes);
      this.#queue = [];
      this.#queuedBytes = 0;
      if (this.#paused) {
        this.#paused = false;
        this.#controller.resume();
      }
      return { done: false, value };
    }
    return this.#ended && this.#error === undefined ? DONE : undefined;
  }
}
