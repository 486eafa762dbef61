/**
 * Pumps an opened chat stream into an SSE response: one write per upstream read (the events of a batch go out
 * as one string), waiting for 'drain' when the socket is full; `data: [DONE]` at the end; after a failure an
 * OpenAI-shaped error event (or, when the client left, nothing: the socket is destroyed). Whatever happens, the
 * stream is released (upstream request, timers) before the returned promise settles.
 *
 * A plain object whose steps are `then` callbacks rather than an async function: an open stream then holds this
 * object, not a suspended frame with its promises, and a batch costs no extra turns of the microtask queue.
 */
import type { FastifyBaseLogger } from "fastify";
import { batchesOf } from "../core/batches.ts";
import type { ChatStream } from "../core/chat-stream.ts";
import type { ChatChunk } from "../core/types.ts";
import type { Disconnect } from "./disconnect.ts";
import { toHttpError } from "./errors.ts";
import type { ChunkEncoder } from "./from-canonical.ts";
import { endSse, failSse, type RawResponse, sseEvent, writeSseEvents } from "./sse-writer.ts";

type Batch = readonly ChatChunk[];

/** Writes the stream's events to `raw` (whose SSE head is already sent); settles once the stream is released. */
export function pumpSse(
  raw: RawResponse,
  stream: ChatStream,
  encoder: ChunkEncoder,
  disconnect: Disconnect,
  log: FastifyBaseLogger,
): Promise<void> {
  return new SsePump(raw, batchesOf(stream), encoder, disconnect, log).start();
}

class SsePump {
  readonly #raw: RawResponse;
  readonly #batches: AsyncIterator<Batch>;
  readonly #encoder: ChunkEncoder;
  readonly #disconnect: Disconnect;
  readonly #log: FastifyBaseLogger;
  readonly #finished = Promise.withResolvers<void>();
  readonly #read = (): void => this.#readNext();
  readonly #onBatch = (next: IteratorResult<Batch>): void => this.#write(next);
  readonly #onError = (error: unknown): void => this.#fail(error);

  constructor(
    raw: RawResponse,
    batches: AsyncIterator<Batch>,
    encoder: ChunkEncoder,
    disconnect: Disconnect,
    log: FastifyBaseLogger,
  ) {
    this.#raw = raw;
    this.#batches = batches;
    this.#encoder = encoder;
    this.#disconnect = disconnect;
    this.#log = log;
  }

  start(): Promise<void> {
    try {
      this.#send(this.#encoder.opening());
    } catch (error) {
      this.#fail(error);
    }
    return this.#finished.promise;
  }

  #readNext(): void {
    this.#batches.next().then(this.#onBatch, this.#onError);
  }

  #write(next: IteratorResult<Batch>): void {
    try {
      if (next.done === true) {
        this.#disconnect.markEnded();
        endSse(this.#raw);
        this.#release();
        return;
      }
      let events = "";
      for (const chunk of next.value) {
        const json = this.#encoder.encode(chunk);
        if (json !== undefined) events += sseEvent(json);
      }
      if (events === "") this.#readNext();
      else this.#send(events);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Writes, then reads the next batch once the socket can take more. */
  #send(events: string): void {
    const waiting = writeSseEvents(this.#raw, events);
    if (waiting === undefined) this.#readNext();
    else void waiting.then(this.#read);
  }

  #fail(error: unknown): void {
    try {
      const proxyError = this.#disconnect.failure(error);
      this.#disconnect.markEnded();
      if (proxyError.kind === "cancelled") {
        this.#log.info("client disconnected during the stream");
        this.#raw.destroy();
      } else {
        this.#log.error(
          { err: proxyError.cause ?? proxyError, kind: proxyError.kind },
          "stream failed after start",
        );
        failSse(this.#raw, toHttpError(proxyError).body.error);
      }
    } catch (unexpected) {
      this.#log.error({ err: unexpected }, "could not end a failed stream");
      this.#raw.destroy();
    }
    this.#release();
  }

  /** Releases the upstream request and timers, even if the stream ended before its chunks were read. */
  #release(): void {
    const finished = this.#finished;
    try {
      Promise.resolve(this.#batches.return?.()).then(
        () => finished.resolve(),
        (error: unknown) => finished.reject(error),
      );
    } catch (error) {
      finished.reject(error);
    }
  }
}
