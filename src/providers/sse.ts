/**
 * Upstream SSE bytes → events. The only SSE parser of the codebase: eventsource-parser does the framing
 * (CRLF, comments, multi-line data, a last event without a blank line) and `createUtf8Chunks` keeps multi-byte
 * characters that straddle network reads intact.
 *
 * Two shapes over one decoder: `createSseDecoder` turns each network read into the events it completes, at
 * once (the hot path: one call per read, no promise per event); `parseSseStream` is the same as an async
 * generator of single events.
 *
 * An event larger than `maxEventBytes` (`proxy.max_sse_event_bytes`) fails the read that carries it, before the
 * parser buffers it (./sse-event-size.ts).
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { createEventSizeGuard } from "./sse-event-size.ts";
import { createUtf8Chunks } from "./utf8-chunks.ts";

/** One server-sent event: `event` is absent for plain `data:` events (OpenAI, Gemini). */
export type SseEvent = EventSourceMessage;

/** Decodes one byte stream; not reusable across streams. */
export interface SseDecoder {
  /** The events completed by these bytes, in order (often several per network read, sometimes none). */
  push(bytes: Uint8Array): SseEvent[];
  /** The end of the stream: the events still pending, including a last one without its blank line. */
  end(): SseEvent[];
}

const NO_EVENTS: SseEvent[] = [];

/** Creates a decoder for one stream; `push` throws once an event grows past `maxEventBytes`. */
export function createSseDecoder(maxEventBytes = Number.POSITIVE_INFINITY): SseDecoder {
  const text = createUtf8Chunks();
  let pending: SseEvent[] = [];
  const checkSize = createEventSizeGuard(maxEventBytes);
  const parser = createParser({
    onEvent: (event) => {
      pending.push(event);
    },
  });
  const drain = (): SseEvent[] => {
    if (pending.length === 0) return NO_EVENTS;
    const ready = pending;
    pending = [];
    return ready;
  };
  return {
    push(bytes) {
      const chunk = text.decode(bytes);
      checkSize(chunk, bytes.length);
      parser.feed(chunk);
      return drain();
    },
    end() {
      parser.feed(text.end());
      // A final event that was not followed by a blank line still counts (some vendors end that way); the
      // parser's reset({consume: true}) would parse it but not dispatch it, so end it with a blank line.
      parser.feed("\n\n");
      return drain();
    },
  };
}

/** Parses a byte stream into SSE events, yielding each as soon as its terminating blank line arrives. */
export async function* parseSseStream(
  body: AsyncIterable<Uint8Array>,
  maxEventBytes?: number,
): AsyncGenerator<SseEvent> {
  const decoder = createSseDecoder(maxEventBytes);
  for await (const bytes of body) yield* decoder.push(bytes);
  yield* decoder.end();
}
