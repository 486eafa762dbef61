/**
 * The request record hookup: what an edge hands the core for one call (CallOptions): the request's id and logger,
 * the call's abort signal, and the observers of its lifecycle (the record that the access line and metrics read,
 * and the trace), so every edge reports the same way.
 */
import type { FastifyBaseLogger } from "fastify";
import type { CallOptions } from "../core/chat-stream.ts";
import { observeRequest } from "../telemetry/request-lifecycle.ts";
import type { RequestRecord } from "../telemetry/request-record.ts";

/** The parts of a Fastify request an edge call needs (a FastifyRequest is one). */
export interface EdgeRequest {
  readonly id: string;
  readonly log: FastifyBaseLogger;
  /** The request's record for the access log and metrics (null on routes that keep none). */
  readonly record?: RequestRecord | null;
}

/** The core's options for one call of `request`, aborted by `signal`. */
export function callOptionsOf(request: EdgeRequest, signal: AbortSignal): CallOptions {
  return {
    signal,
    log: request.log,
    requestId: request.id,
    observer: observeRequest(request.record),
  };
}
