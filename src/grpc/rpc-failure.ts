/**
 * How a ChatService or EmbeddingService call that failed is reported, the same on both server paths (the fast
 * lane and Connect's handler): the status the client gets when the call's own deadline (`grpc-timeout`) passed, and one log line plus
 * the request record's error kind and gRPC code, through the edge kit.
 */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { ProxyError } from "../core/errors.ts";
import { type EdgeRequest, logFailure, recordFailure, stampAnswer } from "../edge/index.ts";
import { kEdgeRequest } from "./call-options.ts";
import { toConnectError } from "./errors.ts";

/**
 * The status of a call whose `grpc-timeout` passed: Connect's own (its handler answers with it), so the fast lane
 * answers alike.
 */
export function deadlineExceeded(): ConnectError {
  return new ConnectError("the operation timed out", Code.DeadlineExceeded);
}

/** Logs a failed call once (at the level its kind calls for, the cause scrubbed) and records its status. */
export function reportRpcFailure(
  request: EdgeRequest,
  error: unknown,
  status: ConnectError,
  rpc: string,
): void {
  const failure = ProxyError.from(error);
  logFailure(request.log, error, failure, "rpc failed", { grpcCode: status.code, rpc });
  recordFailure(request.record, failure.kind, status.code);
}

/**
 * Reports a failed Connect-served RPC and returns the error to end it with. When Connect aborted the call itself
 * (client cancel, grpc-timeout, shutdown), its own reason is the truth and is what the client gets (if it is still
 * there).
 */
export function reportConnectFailure(error: unknown, context: HandlerContext): ConnectError {
  const abortReason: unknown = context.signal.aborted ? context.signal.reason : undefined;
  const status = abortReason instanceof ConnectError ? abortReason : toConnectError(error);
  const request = context.values.get(kEdgeRequest);
  if (request !== undefined) reportRpcFailure(request, error, status, context.method.name);
  return status;
}

/** Stamps a unary Connect answer's overhead header and its record's first byte. */
export function stampConnectAnswer(context: HandlerContext): void {
  stampAnswer(context.responseHeader, context.values.get(kEdgeRequest)?.record);
}
