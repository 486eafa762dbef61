/**
 * Chunks travel through the core in batches (the chunks of one upstream network read), so that a read costs one
 * promise per layer however many chunks it carries. These helpers convert between the two shapes for the code
 * that speaks single chunks: adapters without a batched form, and consumers of `ChatStream.chunks`.
 */
import type { ChatStream } from "./chat-stream.ts";
import { ITERATOR_DONE } from "./iterator-done.ts";
import type { ChatChunk } from "./types.ts";

type Batch = readonly ChatChunk[];

/**
 * One chunk at a time out of a batch iterator. `return()` is forwarded even before the first `next()` (an async
 * generator would skip its `finally` then), so abandoning the view always releases the source.
 */
export class UnbatchedChunks implements AsyncIterableIterator<ChatChunk> {
  readonly #source: AsyncIterator<Batch>;
  #batch: Batch = [];
  #position = 0;

  constructor(source: AsyncIterator<Batch>) {
    this.#source = source;
  }

  async next(): Promise<IteratorResult<ChatChunk>> {
    while (this.#position >= this.#batch.length) {
      const next = await this.#source.next();
      if (next.done === true) return ITERATOR_DONE;
      this.#batch = next.value;
      this.#position = 0;
    }
    const value = this.#batch[this.#position++] as ChatChunk;
    return { done: false, value };
  }

  async return(): Promise<IteratorResult<ChatChunk>> {
    this.#batch = [];
    await this.#source.return?.();
    return ITERATOR_DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Each chunk as a batch of one (adapters that only have `stream`). */
export class SingleChunkBatches implements AsyncIterableIterator<Batch> {
  readonly #source: AsyncIterator<ChatChunk>;

  constructor(source: AsyncIterator<ChatChunk>) {
    this.#source = source;
  }

  async next(): Promise<IteratorResult<Batch>> {
    const next = await this.#source.next();
    return next.done === true ? ITERATOR_DONE : { done: false, value: [next.value] };
  }

  async return(): Promise<IteratorResult<Batch>> {
    await this.#source.return?.();
    return ITERATOR_DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** A stream's batches: the core's own, or its chunks one by one for streams made elsewhere (tests, wrappers). */
export function batchesOf(stream: ChatStream): AsyncIterableIterator<Batch> {
  return stream.batches ?? new SingleChunkBatches(stream.chunks);
}

/** A whole answer (one batch) as a batch iterator. */
export function singleBatch(batch: Batch): AsyncIterableIterator<Batch> {
  let pending: Batch | undefined = batch;
  return {
    next() {
      const value = pending;
      pending = undefined;
      return Promise.resolve(value === undefined ? ITERATOR_DONE : { done: false, value });
    },
    return() {
      pending = undefined;
      return Promise.resolve(ITERATOR_DONE);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
