/**
 * Answers an RPC before Connect sees it (the auth hook refusing a caller, the request guard refusing undecodable
 * bytes), in the caller's own protocol: gRPC and gRPC-web get a trailers-only response (HTTP 200 with
 * grpc-status in the headers), Connect streaming calls an end-of-stream message carrying the error, and Connect
 * unary calls the status-mapped HTTP code with Connect's JSON error body.
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md (Trailers-Only responses)
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md
 * @see https://connectrpc.com/docs/protocol/#error-end-stream and #unary-response
 */
import { constants, Http2ServerRequest } from "node:http2";
import type { Code } from "@connectrpc/connect";
import { codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import type { FastifyReply, FastifyRequest } from "fastify";

/** The wire protocol of an RPC request. */
export type RpcProtocol = "grpc" | "grpc-web" | "connect-stream" | "connect-unary";

/** A Connect route path: `/package.Service/Method`. */
const RPC_PATH = /^\/[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\/[A-Za-z_]\w*$/;
/** Request content types whose value is echoed back: only well-formed ones. */
const SAFE_CONTENT_TYPE = /^application\/[\w.+-]{1,64}$/;
/** Connect's end-of-stream envelope flag. */
const END_STREAM_FLAG = 0b10;

/** The RPC protocol of a request, or undefined for plain HTTP (the OpenAI routes and everything else). */
export function rpcProtocolOf(request: FastifyRequest): RpcProtocol | undefined {
  const type = request.headers["content-type"] ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  if (type.startsWith("application/connect+")) return "connect-stream";
  const path = request.routeOptions.url ?? request.url.split("?")[0] ?? "";
  return RPC_PATH.test(path) ? "connect-unary" : undefined;
}

/** Sends the error and ends the request; `httpStatus` overrides the code's for a Connect unary answer. */
export function sendRpcError(
  request: FastifyRequest,
  reply: FastifyReply,
  protocol: RpcProtocol,
  code: Code,
  message: string,
  httpStatus?: number,
): FastifyReply {
  // Connect's own names and HTTP statuses (https://connectrpc.com/docs/protocol/#error-codes).
  const name = codeToString(code);
  const requestType = request.headers["content-type"]?.split(";")[0]?.trim() ?? "";
  const echoType = SAFE_CONTENT_TYPE.test(requestType) ? requestType : undefined;
  switch (protocol) {
    case "grpc":
    case "grpc-web":
      stopUnreadUpload(request, reply);
      return sendTrailersOnly(reply, {
        "content-type": echoType ?? `application/${protocol}+proto`,
        "grpc-status": String(code),
        "grpc-message": encodeURIComponent(message),
      });
    case "connect-stream": {
      stopUnreadUpload(request, reply);
      const json = Buffer.from(JSON.stringify({ error: { code: name, message } }), "utf8");
      const envelope = Buffer.alloc(5 + json.length);
      envelope.writeUInt8(END_STREAM_FLAG, 0);
      envelope.writeUInt32BE(json.length, 1);
      json.copy(envelope, 5);
      return reply
        .status(200)
        .header("content-type", echoType ?? "application/connect+proto")
        .send(envelope);
    }
    case "connect-unary":
      stopUnreadUpload(request, reply);
      return reply
        .status(httpStatus ?? codeToHttpStatus(code))
        .header("content-type", "application/json")
        .send(JSON.stringify({ code: name, message }));
  }
}

/**
 * A response of headers only. Over HTTP/2 the HEADERS frame must carry END_STREAM (grpc-js ignores a grpc-status
 * in headers followed by an empty DATA frame, which is what reply.send() produces since Fastify writes the head
 * first). Node's compat response sets END_STREAM when end() comes before any head was written, so write nothing
 * through Fastify and end the raw response directly.
 */
function sendTrailersOnly(reply: FastifyReply, headers: Readonly<Record<string, string>>): FastifyReply {
  const pending = reply.getHeaders();
  reply.hijack();
  const raw = reply.raw;
  raw.statusCode = 200;
  for (const [name, value] of Object.entries(pending)) if (value !== undefined) raw.setHeader(name, value);
  for (const [name, value] of Object.entries(headers)) raw.setHeader(name, value);
  raw.end();
  // Node resets an unread HTTP/2 stream itself after a normal response, not after this one: a client still
  // uploading (blocked by flow control) would wait forever. NO_ERROR tells it to stop sending (RFC 9113 §8.1).
  const request: unknown = reply.request.raw;
  if (request instanceof Http2ServerRequest && !request.complete) {
    setImmediate(() => {
      if (!request.stream.closed) request.stream.close(constants.NGHTTP2_NO_ERROR);
    });
  }
  return reply;
}

/**
 * A refusal is sent without reading the request body. Over HTTP/1.1 the connection is then closed after the
 * response, so the rest of a large upload is never read. (Over HTTP/2 Node resets the unread stream with NO_ERROR
 * once a normal response is complete; sendTrailersOnly does it for its own.)
 */
function stopUnreadUpload(request: FastifyRequest, reply: FastifyReply): void {
  if (request.raw.httpVersionMajor === 1 && !request.raw.complete) reply.header("connection", "close");
}
