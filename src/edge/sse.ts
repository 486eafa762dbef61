/**
 * Server-sent events straight to the raw Node response (HTTP/1.1 or HTTP/2): the head, and events with or without
 * an `event:` line. What ends a stream (`data: [DONE]`, a terminal event) and how a failure reads belong to the edge.
 */
import type { ChatChunk } from "../core/types.ts";
import type { BatchEncoder, StreamSink } from "./pump.ts";

/** What an SSE edge uses of the raw response; both http.ServerResponse and http2's compat response have it. */
export interface SseResponse extends StreamSink<string> {
  readonly req: { readonly httpVersionMajor: number };
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(chunk?: string): unknown;
}

/** Sends the status line and SSE headers; `extraHeaders` carries what hooks set (x-request-id, overhead). */
export function startSse(raw: SseResponse, extraHeaders: Record<string, string>): void {
  const headers: Record<string, string> = {
    ...extraHeaders,
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    // Tells nginx-style proxies not to buffer the stream.
    "x-accel-buffering": "no",
  };
  // HTTP/2 forbids connection-specific headers.
  if (raw.req.httpVersionMajor === 1) headers.connection = "keep-alive";
  raw.writeHead(200, headers);
}

/** One event: `data: <data>`, preceded by `event: <name>` when named. `data` must hold no newline (JSON does not). */
export function sseEvent(data: string, event?: string): string {
  return event === undefined ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`;
}

/**
 * A batch encoder writing one `data:` event per chunk that `encodeData` turns into a payload (undefined: the chunk
 * writes nothing); the events of a batch go out as one string.
 */
export function sseDataBatches(encodeData: (chunk: ChatChunk) => string | undefined): BatchEncoder<string> {
  return (batch) => {
    let events = "";
    for (const chunk of batch) {
      const data = encodeData(chunk);
      if (data !== undefined) events += sseEvent(data);
    }
    return events === "" ? undefined : events;
  };
}
