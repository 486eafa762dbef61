/**
 * Connection-level defences against slow and malformed HTTP/1.1 clients, below Fastify's routes:
 * - a client must send its headers within `server.headers_timeout` and its whole request (body included) within
 *   `server.request_timeout`, else 408; the response is not limited, so long SSE streams are never cut;
 * - requests Node's parser rejects (bad header bytes, broken chunking, oversized headers) get OpenAI's error
 *   envelope instead of Fastify's own shape.
 * h2c streams get the same request timeout from src/net/h2-request-timeout.ts (fed from Fastify's requestTimeout).
 * @see https://nodejs.org/api/http.html#serverheaderstimeout
 * @see https://nodejs.org/api/http.html#event-clienterror
 */
import http from "node:http";
import type { Socket } from "node:net";
import type { Config } from "../config/config.ts";

/** Fastify options for the timeouts (the one-port factory applies `http` as Fastify's own factory does). */
export function slowClientOptions(server: Config["server"]): {
  readonly requestTimeout: number;
  readonly http: http.ServerOptions;
} {
  const requestTimeout = server.requestTimeoutMs;
  // Node requires headersTimeout <= requestTimeout.
  const headersTimeout = Math.min(server.headersTimeoutMs, requestTimeout);
  // Node checks the timeouts on this interval (default 30 s, which would let a slow client linger 4x longer).
  const connectionsCheckingInterval = Math.max(100, Math.min(2_000, Math.floor(headersTimeout / 4)));
  return { requestTimeout, http: { headersTimeout, requestTimeout, connectionsCheckingInterval } };
}

/** What a parser-level failure is answered with. */
function describe(code: string | undefined): { status: number; message: string } {
  switch (code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, message: "The request was not received in time." };
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, message: "The request headers are too large." };
    case "HPE_INVALID_HEADER_TOKEN":
      return { status: 400, message: "Malformed HTTP request: a header contains invalid characters." };
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
    case "HPE_INVALID_CONTENT_LENGTH":
    case "HPE_INVALID_TRANSFER_ENCODING":
    case "HPE_INVALID_CHUNK_SIZE":
      return { status: 400, message: "Malformed HTTP request: invalid body framing." };
    default:
      return { status: 400, message: "Malformed HTTP request." };
  }
}

/** Fastify's `clientErrorHandler`: answers in OpenAI's envelope, then closes the connection. */
export function handleClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  // As Node does: never write into a response that has already started on this socket.
  const inFlight: unknown = Reflect.get(socket, "_httpMessage");
  const started =
    typeof inFlight === "object" && inFlight !== null && Reflect.get(inFlight, "_headerSent") === true;
  if (socket.writable && !started) {
    const { status, message } = describe(error.code);
    const type = status === 408 ? "timeout_error" : "invalid_request_error";
    const body = JSON.stringify({ error: { message, type, param: null, code: null } });
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
