/**
 * The x-request-id contract: a caller's id is kept when it is printable ASCII of at most 128 characters
 * (so it is safe in logs and headers); otherwise a fresh UUID is used.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";

const VALID_REQUEST_ID = /^[\x21-\x7e][\x20-\x7e]{0,127}$/;

/** Whether a caller-supplied id is acceptable. */
export function isValidRequestId(value: string): boolean {
  return value.length <= 128 && VALID_REQUEST_ID.test(value);
}

/** Fastify's genReqId: the caller's valid x-request-id, else a UUID. */
export function requestIdOf(raw: IncomingMessage | Http2ServerRequest): string {
  const header = raw.headers["x-request-id"];
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && isValidRequestId(value) ? value : randomUUID();
}
