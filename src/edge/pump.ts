/**
 * The edges' back-pressured write loop, for any framing: reads a stream's batches (the chunks of one upstream
 * read), turns each into bytes with the edge's encoder (SSE events with or without `event:` lines, gRPC or
 * Connect envelopes), and writes them in one write; when the socket is full, the next read waits for 'drain'.
 * A client that stops reading is waited for until the request's budget runs out (the stream's signal).
 */
import { batchesOf } from "../core/batches.ts";
import type { ChatStream } from "../core/chat-stream.ts";
import type { ChatChunk } from "../core/types.ts";

/** The chunks of one upstream read. */
export type Batch = readonly ChatChunk[];

/** Turns one batch into the bytes to write (string or Buffer), or undefined when it writes nothing. */
export type BatchEncoder<Bytes> = (batch: Batch) => Bytes | undefined;

/** What the pump uses of a response: Node's HTTP/1.1 and HTTP/2 (compat) responses both have it. */
export interface StreamSink<Bytes> {
  write(chunk: Bytes): boolean;
  /** The last write was refused (the client is not reading fast enough) and 'drain' has not come yet. */
  readonly writableNeedDrain: boolean;
  on(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
  destroy(): unknown;
}

/**
 * Writes `bytes`; returns a promise when the socket is full, resolved on 'drain', on 'close', or when `signal`
 * aborts (the request's budget ran out while the client was not reading: the caller reads on and fails).
 */
export function writeOrWait<Bytes>(
  sink: StreamSink<Bytes>,
  bytes: Bytes,
  signal?: AbortSignal,
): Promise<void> | undefined {
  if (sink.write(bytes)) return undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      sink.off("drain", done);
      sink.off("close", done);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    sink.on("drain", done);
    sink.on("close", done);
    if (signal?.aborted === true) done();
    else signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Writes `opening` (if any) and then every batch of `stream` to `sink`, to the end of the stream. Rejects with what
 * the stream or a write throws. Whatever happens, the stream is released (upstream request, timers) before the
 * returned promise settles. The edge writes its own ending (`[DONE]`, trailers) or failure afterwards.
 */
export async function pumpStream<Bytes>(
  sink: StreamSink<Bytes>,
  stream: ChatStream,
  encode: BatchEncoder<Bytes>,
  opening?: Bytes,
): Promise<void> {
  const batches = batchesOf(stream);
  const signal = stream.signal;
  try {
    if (opening !== undefined) await writeOrWait(sink, opening, signal);
    await pumpBatches(batches, (batch) => {
      const bytes = encode(batch);
      return bytes === undefined ? undefined : writeOrWait(sink, bytes, signal);
    });
  } finally {
    // Releases the upstream request and timers even if we stopped before reading the chunks.
    await batches.return?.();
  }
}

/**
 * After a failure mid-stream: a client that stopped reading would never get the error (it queues behind what it
 * does not read) and would hold the socket and its buffers, so its connection is destroyed; otherwise the edge
 * writes its error ending.
 */
export function endFailedStream<Bytes>(sink: StreamSink<Bytes>, writeError: () => void): void {
  if (sink.writableNeedDrain) sink.destroy();
  else writeError();
}

/**
 * Reads `batches` to their end and hands each to `write`; when `write` returns a promise (waiting for 'drain'),
 * the next read waits for it. Written with `then` callbacks rather than `for await`: a batch costs no turn of the
 * microtask queue beyond its read. Resolves at the end; rejects with what a read or a write throws. Does not
 * `return()` the batches.
 */
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
