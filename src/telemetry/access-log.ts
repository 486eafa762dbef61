/**
 * The access log: exactly one structured line per request, written when its response is over (finished, failed
 * or abandoned by the client), through the request's logger so it carries `requestId`. It replaces Fastify's
 * own "request completed" line, which cannot see a hijacked SSE stream that the client cut, nor what the core did.
 */
import { type FastifyReply, type FastifyRequest, LogController } from "fastify";
import type { RequestRecord } from "./request-record.ts";

/** The levels at which an `info` line is written. */
const INFO_OR_LOWER: ReadonlySet<string> = new Set(["info", "debug", "trace"]);

/** Fastify's LogController, with the completion line replaced by {@link AccessLogController.writeAccessLine}. */
export class AccessLogController extends LogController {
  /**
   * Fastify writes "incoming request" at info, which would make two info lines per request; at debug it still
   * shows when a long stream began (`--log-level debug`).
   */
  override incomingRequest(request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log.debug({ req: request }, "incoming request");
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    // The access line comes from the close listener; keep only Fastify's report of a failed response stream.
    if (error) super.requestCompleted(error, request, reply, metadata);
  }

  /** Writes the request's access line. */
  writeAccessLine(request: FastifyRequest, record: RequestRecord, statusCode: number, outcome: string): void {
    // Below info (e.g. `warn`) the line would be dropped: do not build its fields.
    if (!INFO_OR_LOWER.has(request.log.level) || this.isLogDisabled(request)) return;
    request.log.info(accessFields(request, record, statusCode, outcome), "request completed");
  }
}

/** The fields of one access line (undefined ones are left out of the JSON). */
export function accessFields(
  request: FastifyRequest,
  record: RequestRecord,
  statusCode: number,
  outcome: string,
): Record<string, unknown> {
  const now = performance.now();
  const rpc = record.protocol !== "http";
  return {
    api: record.api,
    protocol: record.protocol,
    method: request.method,
    url: request.routeOptions.url ?? request.url.split("?")[0],
    statusCode,
    grpcStatus: rpc ? (record.grpcCode ?? (outcome === "ok" ? 0 : undefined)) : undefined,
    outcome,
    model: record.model,
    provider: record.provider,
    upstreamModel: record.upstreamModel,
    stream: record.stream,
    latencyMs: round(now - record.arrivedAt),
    ttftMs: record.firstByteAt === undefined ? undefined : round(record.firstByteAt - record.arrivedAt),
    overheadMs: record.overheadMs === undefined ? undefined : round(record.overheadMs),
    inputTokens: record.inputTokens,
    cachedTokens: record.cachedTokens,
    outputTokens: record.outputTokens,
    // USD; null for a model without a price, absent when nothing was used (no usage).
    costUsd: record.inputTokens === undefined ? undefined : (record.costUsd ?? null),
    usageEstimated: record.usageEstimated ? true : undefined,
    finishReasons: record.finishReasons.length > 0 ? record.finishReasons : undefined,
    attempts: record.modelCall ? record.attempts : undefined,
    retries: record.retries > 0 ? record.retries : undefined,
    fallbacks: record.fallbacks > 0 ? record.fallbacks : undefined,
    droppedTools: record.droppedTools,
    traceId: record.traceId,
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
