/**
 * Ends an HTTP/2 request whose response is complete but whose body was not read to the end. Connect refuses a
 * message over readMaxBytes after reading only its 5-byte prefix. The client may then stop sending without ending
 * its side, so the stream stays open; and whatever it did send stays buffered, paused by Node's compat layer (its
 * request already destroyed), so the stream is never destroyed either. Either way the h2 session outlives even the
 * client's TCP close and `app.close()` waits forever. So, once the response is sent: RST_STREAM with NO_ERROR
 * (RFC 9113 allows exactly this after a complete response) and drop the unread bytes.
 * Register it as an onRequest hook in the scope of Connect routes.
 * @see https://www.rfc-editor.org/rfc/rfc9113#section-8.1
 */
import { constants, type Http2ServerRequest } from "node:http2";
import type { FastifyReply, FastifyRequest } from "fastify";

/** The onRequest hook. HTTP/1.1 requests are left alone: node:http drains or closes those itself. */
export function drainUnreadRequest(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  const stream = (request.raw as unknown as Partial<Http2ServerRequest>).stream;
  if (stream !== undefined) {
    // Node's compat response always waits for trailers; this listener runs after the one that sends them, and
    // setImmediate lets that HEADERS frame go out before the RST_STREAM.
    stream.once("wantTrailers", () =>
      setImmediate(() => {
        if (stream.readableEnded || stream.destroyed) return;
        if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
        // The compat layer's 'data' listener pauses the stream on every chunk its request cannot take.
        stream.removeAllListeners("data");
        stream.resume();
      }),
    );
  }
  done();
}
