/**
 * The edges' write loop: reads a stream's batches to their end and hands each to `write`; when `write` returns a
 * promise (the socket is full, waiting for 'drain'), the next read waits for it. Written with `then` callbacks
 * rather than `for await`: a batch costs no turn of the microtask queue beyond its read. Used by the SSE edge
 * (src/openai/sse-pump.ts) and the gRPC fast lane.
 */
import type { ChatChunk } from "./types.ts";

type Batch = readonly ChatChunk[];

/** Resolves at the end of `batches`; rejects with what a read or a write throws. Does not `return()` them. */
export function pumpBatches(
  batches: AsyncIterator<Batch>,
  write: (batch: Batch) => Promise<void> | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const read = (): void => {
      batches.next().then(onBatch, reject);
    };
    const onBatch = (next: IteratorResult<Batch>): void => {
      if (next.done === true) {
        resolve();
        return;
      }
      let waiting: Promise<void> | undefined;
      try {
        waiting = write(next.value);
      } catch (error) {
        reject(error);
        return;
      }
      if (waiting === undefined) read();
      else waiting.then(read, reject);
    };
    read();
  });
}
