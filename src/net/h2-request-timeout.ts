/**
 * The HTTP/2 counterpart of Node's HTTP/1.1 `requestTimeout` (`server.request_timeout`): each stream must deliver
 * its whole request, body included (END_STREAM), within the timeout, or it is answered as HTTP/1.1 would be and
 * ended. Without it a client sending a body byte by byte holds a stream, its handler and its buffers for as long
 * as the h2 session's idle timeout keeps being reset by those bytes. Only the stream ends, not the connection
 * (other calls multiplexed on it go on), and the response is never limited.
 *
 * The answer, while no response has started: gRPC and gRPC-web (`application/grpc*`) get a trailers-only response
 * with DEADLINE_EXCEEDED, which every gRPC client understands (an HTTP 408 would reach them as UNKNOWN); anything
 * else gets 408 in OpenAI's envelope, byte for byte what HTTP/1.1 clients get (src/http/client-limits.ts). Then
 * RST_STREAM(NO_ERROR) tells the client to stop sending (RFC 9113 §8.1) once the answer is out. The request object
 * is destroyed, so that no handler serves a truncated body as if it were whole (the compatibility layer would end
 * it cleanly when the stream closes).
 * @see https://nodejs.org/api/http.html#serverrequesttimeout
 * @see https://grpc.github.io/grpc/core/md_doc_statuscodes.html
 */
import http2 from "node:http2";

/** The message both protocols carry, as HTTP/1.1's 408 does. */
export const REQUEST_TIMEOUT_MESSAGE = "The request was not received in time.";

const GRPC_DEADLINE_EXCEEDED = "4";

/**
 * Times out every request of `server` that is not complete `timeoutMs` after its headers; 0 = never. Listens to
 * the compatibility API's 'request' event, after the app's handler was called with the same objects.
 */
export function timeOutSlowRequests(
  server: http2.Http2Server | http2.Http2SecureServer,
  timeoutMs: number,
): void {
  if (timeoutMs <= 0) return;
  server.on("request", (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => {
    const stream = request.stream;
    if (stream.endAfterHeaders) return;
    const timer = setTimeout(() => answerTimeout(request, response), timeoutMs);
    // 'end' once the handler has read the whole body; 'close' if the stream ends any other way first.
    const clear = (): void => clearTimeout(timer);
    request.once("end", clear);
    stream.once("close", clear);
  });
}

function answerTimeout(request: http2.Http2ServerRequest, response: http2.Http2ServerResponse): void {
  const stream = request.stream;
  // END_STREAM arrived but the handler has not read it all yet: the client did its part.
  if (stream.destroyed || stream.closed || stream.state.remoteClose === 1) return;
  if (stream.headersSent) {
    // The app answered before reading the whole body (a refusal): only tell the client to stop sending.
    if (stream.writableEnded) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    return;
  }
  const contentType = request.headers["content-type"] ?? "";
  if (contentType.startsWith("application/grpc")) {
    // Trailers-only: gRPC clients need END_STREAM on the HEADERS frame, which only the raw stream can send.
    stream.respond(
      {
        ":status": 200,
        "content-type": contentType,
        "grpc-status": GRPC_DEADLINE_EXCEEDED,
        "grpc-message": REQUEST_TIMEOUT_MESSAGE,
      },
      { endStream: true },
    );
    stream.close(http2.constants.NGHTTP2_NO_ERROR);
    // The RPC edge reads the body itself and must give up: an abort, logged and counted as `cancelled`.
    if (request.listenerCount("error") > 0) request.destroy(timeoutError());
    else request.destroy();
    return;
  }
  // Through the compatibility response, so that the app's own reply is ignored rather than written.
  const body = JSON.stringify({
    error: { message: REQUEST_TIMEOUT_MESSAGE, type: "timeout_error", param: null, code: null },
  });
  response.writeHead(408, { "content-type": "application/json" });
  response.end(body);
  stream.close(http2.constants.NGHTTP2_NO_ERROR);
  // Neither 'end' nor 'error': Fastify's body reader stops there, and no handler runs on a truncated body.
  request.destroy();
}

/** An abort, as a client reset would be (`cancelled` in logs and metrics), with Node's HTTP/1.1 timeout code. */
function timeoutError(): Error {
  return Object.assign(new Error(REQUEST_TIMEOUT_MESSAGE), {
    name: "AbortError",
    code: "ERR_HTTP_REQUEST_TIMEOUT",
  });
}
