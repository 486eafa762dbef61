/**
 * ProxyError → HTTP status and OpenAI's error envelope `{"error":{"message","type","param","code"}}`.
 * One mapping for every kind; clients (and the OpenAI SDK's retry logic) key off the status. Shared by the edges
 * that speak OpenAI's HTTP protocols (chat completions, Responses).
 * @see docs/wire-formats.md#openai-errors
 * @see docs/wire-formats.md#what-the-gateway-tells-its-clients
 */
import type { z } from "zod";
import { ProxyError, type ProxyErrorKind } from "../core/errors.ts";
import { scrubSecrets } from "../core/secret-scrubber.ts";
import { errorStatusOf, retryHeadersOf } from "./error-status.ts";

/** How one kind is reported over HTTP. */
export interface HttpErrorMapping {
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
}

/** The table; a test checks it covers every kind. */
export const HTTP_ERROR_MAPPINGS: Readonly<Record<ProxyErrorKind, HttpErrorMapping>> = {
  invalid_request: { status: 400, type: "invalid_request_error", code: null },
  request_too_large: { status: 413, type: "invalid_request_error", code: "request_too_large" },
  model_not_found: { status: 404, type: "invalid_request_error", code: "model_not_found" },
  authentication: { status: 401, type: "authentication_error", code: "invalid_api_key" },
  permission_denied: { status: 403, type: "permission_error", code: null },
  upstream_not_found: { status: 404, type: "invalid_request_error", code: "not_found" },
  rate_limited: { status: 429, type: "rate_limit_error", code: "rate_limit_exceeded" },
  quota_exceeded: { status: 429, type: "insufficient_quota", code: "insufficient_quota" },
  // The code says which: `rate_limit_exceeded` (rpm, tpm, max_parallel) or `budget_exceeded`.
  limit_exceeded: { status: 429, type: "rate_limit_error", code: "rate_limit_exceeded" },
  overloaded: { status: 503, type: "server_error", code: "overloaded" },
  upstream_error: { status: 502, type: "server_error", code: "upstream_error" },
  upstream_unavailable: { status: 502, type: "server_error", code: "upstream_unavailable" },
  timeout: { status: 504, type: "timeout_error", code: "timeout" },
  bad_upstream_response: { status: 502, type: "server_error", code: "bad_upstream_response" },
  cancelled: { status: 499, type: "invalid_request_error", code: "cancelled" },
  configuration: { status: 500, type: "server_error", code: "provider_not_configured" },
  internal: { status: 500, type: "server_error", code: null },
};

/** The error object inside the envelope. */
export interface OpenAIErrorObject {
  readonly message: string;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
}

/** Everything an HTTP reply of this error needs. */
export interface HttpError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly error: OpenAIErrorObject };
}

/** Maps a ProxyError. Upstream 5xx statuses pass through as they were, so clients see what happened. */
export function toHttpError(error: ProxyError): HttpError {
  const mapping = HTTP_ERROR_MAPPINGS[error.kind];
  return {
    status: errorStatusOf(error, mapping.status),
    headers: retryHeadersOf(error),
    body: {
      // The adapters scrubbed what came from upstream; this is the last line of defence for every error.
      error: {
        message: scrubSecrets(error.message),
        type: mapping.type,
        param: error.param === undefined ? null : scrubSecrets(error.param),
        code: error.code === undefined ? mapping.code : scrubSecrets(error.code),
      },
    },
  };
}

/** The first validation issue in OpenAI's words, located like its `param` (`messages[0].role`, `input[0].content`). */
export function invalidRequest(issues: readonly z.core.$ZodIssue[]): ProxyError {
  const issue = issues[0];
  if (issue === undefined) return new ProxyError("invalid_request", "Invalid request body.");
  const param = issue.path.reduce<string>(
    (path, key) =>
      typeof key === "number" ? `${path}[${key}]` : path === "" ? String(key) : `${path}.${String(key)}`,
    "",
  );
  const message = param === "" ? issue.message : `Invalid value for '${param}': ${issue.message}`;
  return new ProxyError("invalid_request", message, { param: param === "" ? undefined : param });
}
