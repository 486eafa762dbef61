/**
 * ProxyError → ConnectError: the gRPC edge's one error mapping. The client sees the ProxyError's message (safe
 * by contract) and a status code; causes stay server-side (ConnectError keeps them as `cause`, never on the wire).
 *
 * @see https://grpc.github.io/grpc/core/md_doc_statuscodes.html (which code means what)
 * @see https://connectrpc.com/docs/protocol/#error-codes (Connect's HTTP mapping of the same codes)
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { ProxyError, type ProxyErrorKind } from "../core/errors.ts";
import { scrubSecrets } from "../core/secret-scrubber.ts";

/**
 * The Connect code of every ProxyError kind. Two judgement calls:
 * - `upstream_error` (an upstream 5xx) → Unavailable: transient, retryable in our kind set, and gRPC clients'
 *   retry policies retry UNAVAILABLE (gRPC's own HTTP→gRPC table maps 502/503/504 there too).
 * - `bad_upstream_response` (the upstream broke its own protocol) → Internal: not retryable in our kind set, and
 *   INTERNAL is gRPC's "invariants expected by the underlying system have been broken"; the message says which.
 */
export const CONNECT_CODE_BY_KIND: Readonly<Record<ProxyErrorKind, Code>> = {
  invalid_request: Code.InvalidArgument,
  request_too_large: Code.ResourceExhausted,
  model_not_found: Code.NotFound,
  authentication: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  upstream_not_found: Code.NotFound,
  rate_limited: Code.ResourceExhausted,
  quota_exceeded: Code.ResourceExhausted,
  limit_exceeded: Code.ResourceExhausted,
  overloaded: Code.Unavailable,
  upstream_error: Code.Unavailable,
  upstream_unavailable: Code.Unavailable,
  timeout: Code.DeadlineExceeded,
  bad_upstream_response: Code.Internal,
  cancelled: Code.Canceled,
  configuration: Code.FailedPrecondition,
  internal: Code.Internal,
};

/** Maps anything thrown to the ConnectError a client may see; unknown errors become a generic `internal`. */
export function toConnectError(error: unknown): ConnectError {
  const proxyError = ProxyError.from(error);
  // The message goes out as grpc-message (or Connect's JSON): the last line of defence against an echoed secret.
  return new ConnectError(
    scrubSecrets(proxyError.message),
    CONNECT_CODE_BY_KIND[proxyError.kind],
    undefined,
    undefined,
    proxyError,
  );
}
