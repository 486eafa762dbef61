/**
 * Headers that hooks set on the Fastify reply (x-request-id, the overhead header, rate-limit headers), as the plain
 * record a raw `writeHead` takes: edges that write the raw response themselves (SSE, the gRPC fast lane) would
 * otherwise lose them.
 */
import type { FastifyReply } from "fastify";

/** The reply's string and number headers (Fastify keeps arrays only for set-cookie, which no edge sends). */
export function replyHeaders(reply: FastifyReply): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (typeof value === "string") headers[name] = value;
    else if (typeof value === "number") headers[name] = String(value);
  }
  return headers;
}
