/**
 * OpenAI's SSE framing on top of the kit's (src/edge/sse.ts): `data: <json>\n\n` per chunk, `data: [DONE]` at the
 * end, and on a failure after the first byte an OpenAI-shaped error event (the OpenAI SDK throws APIError on a
 * `data` carrying `error`) before closing, never a silent truncation.
 */

import type { OpenAIErrorObject } from "../edge/openai-errors.ts";
import { type SseResponse, sseEvent } from "../edge/sse.ts";

export { sseEvent };

/** OpenAI's end-of-stream sentinel. */
const DONE_EVENT = sseEvent("[DONE]");

/** Ends a successful stream. */
export function endSse(raw: SseResponse): void {
  raw.end(DONE_EVENT);
}

/** Ends a stream that failed after it started. */
export function failSse(raw: SseResponse, error: OpenAIErrorObject): void {
  raw.end(sseEvent(JSON.stringify({ error })));
}
