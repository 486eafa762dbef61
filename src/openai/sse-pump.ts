/**
 * Pumps an opened chat stream into an SSE response: one write per upstream read (the events of a batch go out
 * as one string), waiting for 'drain' when the socket is full (src/core/pump-batches.ts); `data: [DONE]` at the
 * end; after a failure an OpenAI-shaped error event (or, when the client left, nothing: the socket is destroyed).
 * A client that stops reading is waited for until the request's budget runs out (the stream's signal), then its
 * connection is destroyed: an error event queued behind what it does not read would never reach it.
 * Whatever happens, the stream is released (upstream request, timers) before the returned promise settles.
 */
import type { FastifyBaseLogger } from "fastify";
import { batchesOf } from "../core/batches.ts";
import type { ChatStream } from "../core/chat-stream.ts";
import { scrubErrorForLog } from "../core/secret-scrubber.ts";
import { pumpBatches } from "../edge/pump.ts";
import type { Disconnect } from "./disconnect.ts";
import { toHttpError } from "./errors.ts";
import type { ChunkEncoder } from "./from-canonical.ts";
import { endSse, failSse, type RawResponse, sseEvent, writeSseEvents } from "./sse-writer.ts";

/** Writes the stream's events to `raw`, whose SSE head is already sent. */
export async function pumpSse(
  raw: RawResponse,
  stream: ChatStream,
  encoder: ChunkEncoder,
  disconnect: Disconnect,
  log: FastifyBaseLogger,
): Promise<void> {
  const batches = batchesOf(stream);
  const signal = stream.signal;
  try {
    await writeSseEvents(raw, encoder.opening(), signal);
    await pumpBatches(batches, (batch) => {
      let events = "";
      for (const chunk of batch) {
        const json = encoder.encode(chunk);
        if (json !== undefined) events += sseEvent(json);
      }
      return events === "" ? undefined : writeSseEvents(raw, events, signal);
    });
    disconnect.markEnded();
    endSse(raw);
  } catch (error) {
    const proxyError = disconnect.failure(error);
    disconnect.markEnded();
    if (proxyError.kind === "cancelled") {
      log.info("client disconnected during the stream");
      raw.destroy();
      return;
    }
    log.error(
      { err: scrubErrorForLog(proxyError.cause ?? proxyError), kind: proxyError.kind },
      "stream failed after start",
    );
    // A client that stopped reading would never get the error event, and would hold the socket and its buffers.
    if (raw.writableNeedDrain) raw.destroy();
    else failSse(raw, toHttpError(proxyError).body.error);
  } finally {
    // Releases the upstream request and timers even if we stopped before reading the chunks.
    await batches.return?.();
  }
}
