/**
 * How a ChatService call that failed is reported, the same on both server paths (the fast lane and Connect's
 * handler): the status the client gets when the call's own deadline (`grpc-timeout`) passed, and one log line plus
 * the request record's error kind and gRPC code, through the edge kit.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { ProxyError } from "../core/errors.ts";
import { type EdgeRequest, logFailure, recordFailure } from "../edge/index.ts";

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
