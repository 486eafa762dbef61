/**
 * OpenAI's SSE framing on top of the kit's (src/edge/sse.ts): `data: <json>\n\n` per chunk, `data: [DONE]` at the
 * end, and on a failure after the first byte an OpenAI-shaped error event (the OpenAI SDK throws APIError on a
 * `data` carrying `error`) before closing, never a silent truncation.
 */
import type { ChatStream } from "../core/chat-stream.ts";
import type { ProxyError } from "../core/errors.ts";
import type { ReasoningSeal } from "../core/reasoning-seal.ts";
import type { SseCallEncoder } from "../edge/model-call.ts";
import { toHttpError } from "../edge/openai-errors.ts";
import type { BatchEncoder } from "../edge/pump.ts";
import { sseDataBatches, sseEvent } from "../edge/sse.ts";
import { type ChunkEncoder, createChunkEncoder } from "./from-canonical.ts";

/** OpenAI's end-of-stream sentinel. */
const DONE_EVENT = sseEvent("[DONE]");

/** One chat stream's events for the kit's SSE pump (src/edge/model-call.ts). */
export class ChatSseEncoder implements SseCallEncoder {
  readonly #chunks: ChunkEncoder;
  readonly encode: BatchEncoder<string>;

  constructor(stream: ChatStream, includeUsage: boolean, seal?: ReasoningSeal) {
    this.#chunks = createChunkEncoder(stream, includeUsage, seal);
    // The chunk encoder's methods close over its state, not `this`: passed unbound, without a wrapper.
    this.encode = sseDataBatches(this.#chunks.encode);
  }

  opening(): string {
    return this.#chunks.opening();
  }

  ending(): string {
    return DONE_EVENT;
  }

  fail(failure: ProxyError): string {
    return sseEvent(JSON.stringify({ error: toHttpError(failure).body.error }));
  }
}
