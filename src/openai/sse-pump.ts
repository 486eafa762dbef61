/**
 * Pumps an opened chat stream into an SSE response with the kit's pump (src/edge/pump.ts): one write per upstream
 * read, waiting for 'drain' when the socket is full; `data: [DONE]` at the end; after a failure an OpenAI-shaped
 * error event (or, when the client left, nothing: the socket is destroyed; or, when it stopped reading, its
 * connection is destroyed). Whatever happens, the stream is released before the returned promise settles.
 */
import type { FastifyBaseLogger } from "fastify";
import type { ChatStream } from "../core/chat-stream.ts";
import type { CallAbort } from "../edge/call-abort.ts";
import { logFailure } from "../edge/failure-log.ts";
import { toHttpError } from "../edge/openai-errors.ts";
import { endFailedStream, pumpStream } from "../edge/pump.ts";
import { type SseResponse, sseDataBatches } from "../edge/sse.ts";
import { createChunkEncoder } from "./from-canonical.ts";
import { endSse, failSse } from "./sse-writer.ts";

/** Writes the stream's events to `raw`, whose SSE head is already sent; `call` ends when the stream does. */
export async function pumpSse(
  raw: SseResponse,
  stream: ChatStream,
  includeUsage: boolean,
  call: CallAbort,
  log: FastifyBaseLogger,
): Promise<void> {
  const encoder = createChunkEncoder(stream, includeUsage);
  try {
    await pumpStream(
      raw,
      stream,
      sseDataBatches((chunk) => encoder.encode(chunk)),
      encoder.opening(),
    );
    call.end();
    endSse(raw);
  } catch (error) {
    const failure = call.failure(error);
    call.end();
    if (failure.kind === "cancelled") {
      log.info("client disconnected during the stream");
      raw.destroy();
      return;
    }
    logFailure(log, failure.cause ?? failure, failure, "stream failed after start");
    endFailedStream(raw, () => failSse(raw, toHttpError(failure).body.error));
  }
}
