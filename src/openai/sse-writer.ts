/**
 * Writes an OpenAI SSE response straight to the raw Node response (HTTP/1.1 or HTTP/2): `data: <json>\n\n`
 * per chunk, `data: [DONE]` at the end, and on a failure after the first byte an OpenAI-shaped error event
 * (the OpenAI SDK throws APIError on a `data` carrying `error`) before closing, never a silent truncation.
 */
import type { OpenAIErrorObject } from "./errors.ts";

/** What we use of the raw response; both http.ServerResponse and http2's compat response have it. */
export interface RawResponse {
  readonly req: { readonly httpVersionMajor: number };
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string): boolean;
  end(chunk?: string): unknown;
  destroy(): unknown;
  /** The last write was refused (the client is not reading fast enough) and 'drain' has not come yet. */
  readonly writableNeedDrain: boolean;
  on(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/** Sends the status line and SSE headers; `extraHeaders` carries what hooks set (x-request-id). */
export function startSse(raw: RawResponse, extraHeaders: Record<string, string>): void {
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

/** One `data:` event. */
export function sseEvent(json: string): string {
  return `data: ${json}\n\n`;
}

/**
 * Writes events (one or several `sseEvent`s); resolves when the socket can take more (backpressure), or when
 * `signal` aborts (the request's budget ran out while the client was not reading: the caller reads on and fails).
 */
export function writeSseEvents(
  raw: RawResponse,
  events: string,
  signal?: AbortSignal,
): Promise<void> | undefined {
  if (raw.write(events)) return undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      raw.off("drain", done);
      raw.off("close", done);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    raw.on("drain", done);
    raw.on("close", done);
    if (signal?.aborted === true) done();
    else signal?.addEventListener("abort", done, { once: true });
  });
}

/** Ends a successful stream. */
export function endSse(raw: RawResponse): void {
  raw.end("data: [DONE]\n\n");
}

/** Ends a stream that failed after it started. */
export function failSse(raw: RawResponse, error: OpenAIErrorObject): void {
  raw.end(`data: ${JSON.stringify({ error })}\n\n`);
}
