/**
 * Upstream SSE bytes → events. The only SSE parser of the codebase: eventsource-parser does the framing
 * (CRLF, comments, multi-line data, a last event without a blank line) and a streaming TextDecoder keeps
 * multi-byte characters that straddle network reads intact.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

/** One server-sent event: `event` is absent for plain `data:` events (OpenAI, Gemini). */
export type SseEvent = EventSourceMessage;

/** Parses a byte stream into SSE events, yielding each as soon as its terminating blank line arrives. */
export async function* parseSseStream(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder("utf-8");
  let pending: SseEvent[] = [];
  const parser = createParser({
    onEvent: (event) => {
      pending.push(event);
    },
  });
  for await (const bytes of body) {
    parser.feed(decoder.decode(bytes, { stream: true }));
    if (pending.length > 0) {
      const ready = pending;
      pending = [];
      yield* ready;
    }
  }
  parser.feed(decoder.decode());
  // A final event that was not followed by a blank line still counts (some vendors end that way); the
  // parser's reset({consume: true}) would parse it but not dispatch it, so end it with a blank line.
  parser.feed("\n\n");
  yield* pending;
}
