/**
 * How an edge reports a call that failed: one log line through the request's logger, at a level that says whose
 * doing it was, with the cause scrubbed of secrets; and the failure written into the request record for the access
 * line and metrics (the first kind set wins: the core's, when it failed there).
 */
import type { FastifyBaseLogger } from "fastify";
import type { ProxyError, ProxyErrorKind } from "../core/errors.ts";
import { scrubErrorForLog } from "../core/secret-scrubber.ts";
import type { RequestRecord } from "../telemetry/request-record.ts";

/** Our bugs are errors; the client's own doing (a bad request, hanging up) is routine; the rest needs an eye. */
export function logLevelFor(kind: ProxyErrorKind): "error" | "warn" | "info" {
  if (kind === "internal") return "error";
  return kind === "invalid_request" || kind === "cancelled" ? "info" : "warn";
}

/**
 * Logs `error` (what went wrong, scrubbed) with `message`, at the level of `failure` (what the client is told);
 * `fields` add the edge's own facts (gRPC code, method).
 */
export function logFailure(
  log: FastifyBaseLogger,
  error: unknown,
  failure: ProxyError,
  message: string,
  fields?: Readonly<Record<string, unknown>>,
): void {
  log[logLevelFor(failure.kind)]({ err: scrubErrorForLog(error), kind: failure.kind, ...fields }, message);
}

/** Writes the failure into the record (kept when the core set one first); `grpcCode` for RPC edges. */
export function recordFailure(
  record: RequestRecord | null | undefined,
  kind: ProxyErrorKind,
  grpcCode?: number,
): void {
  if (record === null || record === undefined) return;
  if (grpcCode !== undefined) record.grpcCode = grpcCode;
  record.errorKind ??= kind;
}
