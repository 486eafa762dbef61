/**
 * Recognises the HTTP/2 client connection preface that an h2c client with prior knowledge sends first.
 * @see https://www.rfc-editor.org/rfc/rfc9113#section-3.4
 */

/** The 24 bytes every HTTP/2 client sends before its first frame. */
export const HTTP2_PREFACE: Buffer = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** What the first bytes of a connection say about its protocol. */
export type SniffedProtocol = "h2" | "http1";

/**
 * Classifies the bytes received so far: `"h2"` once all 24 preface bytes are there, `"http1"` as soon as a
 * byte differs from the preface, `undefined` while they are still a strict prefix of it. Waiting is needed
 * because the preface may arrive split across reads, and because an HTTP/1.1 `POST` or `PUT` starts with
 * the same "P" as the preface.
 */
export function classifyPreface(received: Uint8Array): SniffedProtocol | undefined {
  const length = Math.min(received.length, HTTP2_PREFACE.length);
  for (let i = 0; i < length; i++) {
    if (received[i] !== HTTP2_PREFACE[i]) return "http1";
  }
  return received.length >= HTTP2_PREFACE.length ? "h2" : undefined;
}
