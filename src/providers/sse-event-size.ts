/**
 * The size cap on single server-sent events (`proxy.max_sse_event_bytes`). The SSE parser holds an event until its
 * blank line arrives, so an upstream that never ends one would be buffered whole; the guard sees each read before
 * the parser does, counts the bytes of the event in progress across reads, and throws `bad_upstream_response` for
 * the read that would take any event past the cap, so the parser never holds more than the cap.
 *
 * A blank line (the end of an event) is a line end right after another: LF LF, CR CR, or LF then CR (CR or CRLF
 * after LF). A read that cannot take any event past the cap (the bytes carried over plus its own are under it) only
 * looks for its last blank line; the usual read ends with one, which makes that a single `endsWith`.
 */
import { ProxyError } from "../core/errors.ts";

/** Checks one decoded read before it is parsed; throws once an event exceeds the cap. */
export type EventSizeGuard = (chunk: string, byteLength: number) => void;

const BLANK_LINE_ENDS = ["\n\n", "\r\r", "\n\r"] as const;

/** A guard for one stream. */
export function createEventSizeGuard(maxEventBytes: number): EventSizeGuard {
  if (maxEventBytes === Number.POSITIVE_INFINITY) return () => undefined;
  /** Bytes since the last blank line: what the parser holds of the event in progress. */
  let openBytes = 0;
  let lastChar = "";
  return (chunk, byteLength) => {
    const split = splitBlankLine(lastChar, chunk);
    if (chunk !== "") lastChar = chunk.charAt(chunk.length - 1);
    if (openBytes + byteLength <= maxEventBytes) {
      const after = afterLastBlankLine(chunk, split);
      if (after < 0) openBytes += byteLength;
      else openBytes = after === chunk.length ? 0 : Buffer.byteLength(chunk.slice(after));
      return;
    }
    openBytes = checkEvents(chunk, split, openBytes, maxEventBytes);
  };
}

/** A blank line split between two reads (CR then LF there is one CRLF, not a blank line). */
function splitBlankLine(previous: string, chunk: string): boolean {
  const first = chunk.charAt(0);
  return (previous === "\n" && (first === "\n" || first === "\r")) || (previous === "\r" && first === "\r");
}

/** Where the text after the last blank line of `chunk` starts, or -1 when it has none. */
function afterLastBlankLine(chunk: string, split: boolean): number {
  if (chunk.endsWith("\n\n")) return chunk.length;
  const at = Math.max(chunk.lastIndexOf("\n\n"), chunk.lastIndexOf("\r\r"), chunk.lastIndexOf("\n\r"));
  if (at >= 0) return at + 2;
  return split ? 1 : -1;
}

/** Measures every event `chunk` ends and the one it leaves open; returns the open one's bytes, throws if too large. */
function checkEvents(chunk: string, split: boolean, carried: number, maxEventBytes: number): number {
  // Next occurrence of each pair at or after the current position, searched again only once passed.
  const found = BLANK_LINE_ENDS.map((pair) => chunk.indexOf(pair));
  let from = 0;
  let open = carried;
  let end = split ? 1 : nextEnd(chunk, found, 0);
  while (end >= 0) {
    if (open + Buffer.byteLength(chunk.slice(from, end)) > maxEventBytes) throw eventTooLarge(maxEventBytes);
    open = 0;
    from = end;
    end = nextEnd(chunk, found, from);
  }
  open += Buffer.byteLength(chunk.slice(from));
  if (open > maxEventBytes) throw eventTooLarge(maxEventBytes);
  return open;
}

/** The index just past the first blank line at or after `from`, or -1. */
function nextEnd(chunk: string, found: number[], from: number): number {
  let next = -1;
  for (let index = 0; index < BLANK_LINE_ENDS.length; index += 1) {
    let at = found[index] as number;
    if (at >= 0 && at < from) {
      at = chunk.indexOf(BLANK_LINE_ENDS[index] as string, from);
      found[index] = at;
    }
    if (at >= 0 && (next < 0 || at < next)) next = at;
  }
  return next < 0 ? -1 : next + 2;
}

function eventTooLarge(maxEventBytes: number): ProxyError {
  return new ProxyError(
    "bad_upstream_response",
    `The upstream sent a stream event larger than proxy.max_sse_event_bytes (${maxEventBytes} bytes).`,
  );
}
