/**
 * ProxyError → Anthropic's error envelope `{"type":"error","error":{"type","message"}}` with the status Anthropic
 * uses for that type (529 for overloaded), and the route declaration that makes the shared hooks (auth refusals,
 * the error and not-found handlers, body limits) answer `/v1/messages` in that shape.
 * @see https://platform.claude.com/docs/en/api/errors
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ProxyError, ProxyErrorKind } from "../core/errors.ts";
import { scrubSecrets } from "../core/secret-scrubber.ts";
import { errorStatusOf, retryHeadersOf } from "../edge/error-status.ts";
import type { RouteEdge } from "../edge/route-edge.ts";

/** Anthropic's error types the gateway sends. */
export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error";

/** Status and type per kind; a test checks every kind has one. */
export const ANTHROPIC_ERROR_MAPPINGS: Readonly<
  Record<ProxyErrorKind, { readonly status: number; readonly type: AnthropicErrorType }>
> = {
  invalid_request: { status: 400, type: "invalid_request_error" },
  request_too_large: { status: 413, type: "request_too_large" },
  model_not_found: { status: 404, type: "not_found_error" },
  authentication: { status: 401, type: "authentication_error" },
  permission_denied: { status: 403, type: "permission_error" },
  upstream_not_found: { status: 404, type: "not_found_error" },
  rate_limited: { status: 429, type: "rate_limit_error" },
  quota_exceeded: { status: 429, type: "rate_limit_error" },
  limit_exceeded: { status: 429, type: "rate_limit_error" },
  // Anthropic's own overload status; its SDKs retry it.
  overloaded: { status: 529, type: "overloaded_error" },
  upstream_error: { status: 502, type: "api_error" },
  upstream_unavailable: { status: 502, type: "api_error" },
  timeout: { status: 504, type: "api_error" },
  bad_upstream_response: { status: 502, type: "api_error" },
  cancelled: { status: 499, type: "invalid_request_error" },
  configuration: { status: 500, type: "api_error" },
  internal: { status: 500, type: "api_error" },
};

/** The `error` object of the envelope (also the data of a mid-stream `event: error`). */
export interface AnthropicErrorBody {
  readonly type: "error";
  readonly error: { readonly type: AnthropicErrorType; readonly message: string };
}

/** Status, headers and body of `error` in Anthropic's shape. Upstream 5xx statuses pass through as they were. */
export function toAnthropicError(error: ProxyError): {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: AnthropicErrorBody;
} {
  const mapping = ANTHROPIC_ERROR_MAPPINGS[error.kind];
  return {
    status: errorStatusOf(error, mapping.status),
    headers: retryHeadersOf(error),
    // An Anthropic upstream's own words when it said them (Claude Code matches some of its 400 messages).
    body: {
      type: "error",
      error: { type: mapping.type, message: scrubSecrets(error.vendorMessage ?? error.message) },
    },
  };
}

/** Sends `error` as Anthropic's error JSON; `status` overrides the kind's (404 for an unknown path). */
export function writeAnthropicError(
  _request: FastifyRequest,
  reply: FastifyReply,
  error: ProxyError,
  status?: number,
): FastifyReply {
  const answer = toAnthropicError(error);
  const body =
    status === 404
      ? { type: "error", error: { ...answer.body.error, type: "not_found_error" } }
      : answer.body;
  return reply
    .status(status ?? answer.status)
    .headers(answer.headers)
    .send(body);
}

/** The declaration of the Messages routes, labelled `api` (`messages`). */
export function messagesRouteEdge(api: string, modelCall: boolean): RouteEdge {
  return { api, modelCall, rpc: false, writeError: writeAnthropicError };
}
