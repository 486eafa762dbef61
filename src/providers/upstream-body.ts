/**
 * The body of an upstream response as the transport receives it: undici's handler pushes the bytes of each
 * network read, the adapter pulls them. A pull returns everything that arrived since the previous one in one
 * buffer, and a pull that had to wait is answered one microtask after the first bytes arrive, so the chunks
 * undici parses out of one socket read (one per SSE event, with chunked encoding) reach the adapter together:
 * one promise per read instead of one per event, and batches of events for the layers above.
 *
 * Leaving early (`return()`) aborts the request only if the response is still open; a body read to its end
 * leaves the keep-alive connection in the pool.
 *
 * Memory is bounded either way: an iterated body stops reading from the socket once its reader lags behind by
 * the high-water mark (a client that does not drain its socket stalls the pump, which stops reading here), and a
 * body read whole with `text()` fails and aborts the request as soon as it exceeds its cap
 * (`proxy.max_response_bytes`), without reading the rest.
 */
import { ProxyError } from "../core/errors.ts";
import { ITERATOR_DONE } from "../core/iterator-done.ts";

/** What the body needs from undici's request controller. */
export interface BodyController {
  abort(reason: Error): void;
  pause(): void;
  resume(): void;
}

/**
 * Above this many unread bytes the body stops reading from the socket until the adapter catches up: about one
 * socket read. A reader that keeps up never gets near it; one whose client stopped reading (the edges wait for
 * 'drain' before they read on) holds at most this plus the read that crossed it, then undici stops reading and
 * TCP flow control stops the upstream.
 */
const HIGH_WATER_BYTES = 64 * 1024;

/** Given to undici when the reader leaves before the end: the error nobody sees, made once. */
const ABANDONED = new Error("upstream response body abandoned by its reader");

function concurrentReads(): Error {
  return new Error("upstream body: concurrent reads");
}

/** A single-reader byte queue fed by undici's handler callbacks. */
export class UpstreamBody implements AsyncIterableIterator<Uint8Array> {
  readonly #controller: BodyController;
  /** Largest body `text()` accepts. */
  readonly #maxWholeBytes: number;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #paused = false;
  #ended = false;
  #error: unknown;
  #waiter: PromiseWithResolvers<IteratorResult<Uint8Array>> | undefined;
  /** A pending `text()`: answered once, at the end, with no promise per read. */
  #whole: PromiseWithResolvers<string> | undefined;
  #flushScheduled = false;
  readonly #flush = (): void => this.#answerWaiter();

  constructor(controller: BodyController, maxWholeBytes = Number.POSITIVE_INFINITY) {
    this.#controller = controller;
    this.#maxWholeBytes = maxWholeBytes;
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
    if (this.#whole !== undefined && this.#queuedBytes > this.#maxWholeBytes) {
      this.#refuseWhole();
      return;
    }
    if (this.#queuedBytes > HIGH_WATER_BYTES && !this.#paused && this.#whole === undefined) {
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
    if (this.#waiter !== undefined || this.#whole !== undefined) return Promise.reject(concurrentReads());
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
    return ITERATOR_DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The whole body as UTF-8 text. */
  text(): Promise<string> {
    if (this.#waiter !== undefined || this.#whole !== undefined) return Promise.reject(concurrentReads());
    this.#whole = Promise.withResolvers();
    const { promise } = this.#whole;
    if (this.#queuedBytes > this.#maxWholeBytes) {
      this.#refuseWhole();
      return promise;
    }
    // The whole body is wanted: a read paused by the high-water mark would never be resumed.
    if (this.#paused) {
      this.#paused = false;
      this.#controller.resume();
    }
    this.#settleWhole();
    return promise;
  }

  #wake(): void {
    if (this.#whole !== undefined) {
      this.#settleWhole();
      return;
    }
    if (this.#waiter === undefined || this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Later: undici delivers the other events of this socket read synchronously after this one.
    queueMicrotask(this.#flush);
  }

  /** The body read whole grew past its cap: drop what was read, abort the request, fail `text()`. */
  #refuseWhole(): void {
    const error = new ProxyError(
      "bad_upstream_response",
      `The upstream's answer is larger than proxy.max_response_bytes (${this.#maxWholeBytes} bytes).`,
    );
    this.#queue = [];
    this.#queuedBytes = 0;
    // Settled before the abort, so the failure undici reports for it is ignored.
    this.#error = error;
    this.#controller.abort(error);
    this.#settleWhole();
  }

  /** Answers a pending `text()` once the body has ended or failed. */
  #settleWhole(): void {
    const whole = this.#whole;
    if (whole === undefined) return;
    if (this.#error !== undefined) {
      this.#whole = undefined;
      whole.reject(this.#error);
    } else if (this.#ended) {
      this.#whole = undefined;
      const queue = this.#queue;
      this.#queue = [];
      whole.resolve(
        queue.length === 1
          ? (queue[0] as Buffer).toString("utf8")
          : Buffer.concat(queue, this.#queuedBytes).toString("utf8"),
      );
      this.#queuedBytes = 0;
    }
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
    return this.#ended && this.#error === undefined ? ITERATOR_DONE : undefined;
  }
}
