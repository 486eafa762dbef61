/**
 * Anthropic errors → ProxyError: non-2xx answers (status + `{type:"error", error:{type, message}}`) and the
 * `event: error` that can arrive after a 200. The body's `error.type` decides the kind; the HTTP status is
 * the fallback for bodies we cannot read (e.g. Cloudflare's HTML 413 page).
 * @see https://platform.claude.com/docs/en/api/errors
 */
import { ProxyError, type ProxyErrorKind } from "../../core/errors.ts";
import { scrubUpstreamText } from "../../core/secret-scrubber.ts";
import type { UpstreamResponse } from "../types.ts";
import { kindForUpstreamStatus, parseRetryAfterMs } from "../upstream-status.ts";
import { type AnthropicErrorBody, anthropicErrorSchema } from "./wire.ts";

/** Longest upstream message we pass on; the rest is cut. */
const MAX_MESSAGE_CHARS = 1000;
/** Longest error type we quote (real ones are short identifiers). */
const MAX_TYPE_CHARS = 100;

const KIND_BY_ERROR_TYPE: Readonly<Record<string, ProxyErrorKind>> = {
  invalid_request_error: "invalid_request",
  authentication_error: "authentication",
  permission_error: "permission_denied",
  not_found_error: "upstream_not_found",
  request_too_large: "request_too_large",
  rate_limit_error: "rate_limited",
  // 402: the organisation ran out of credit; retrying will not help.
  billing_error: "quota_exceeded",
  timeout_error: "timeout",
  api_error: "upstream_error",
  // 529: Anthropic-wide overload; worth retrying elsewhere or later.
  overloaded_error: "overloaded",
};

/** Maps a non-2xx answer. The type and message quoted from the body are scrubbed of `secret` (the API key) and any other secret. */
export function mapAnthropicHttpError(
  status: number,
  body: string,
  headers: UpstreamResponse["headers"],
  now: number,
  secret?: string,
): ProxyError {
  const parsed = parseErrorBody(body);
  const errorType = parsed?.error.type;
  const kind =
    (errorType === undefined ? undefined : KIND_BY_ERROR_TYPE[errorType]) ?? kindForUpstreamStatus(status);
  // Anthropic's own error type stays in the message ("Anthropic rate_limit_error: …"); the OpenAI `code`
  // comes from the kind, so clients see the same codes whichever vendor answered.
  return new ProxyError(kind, describe(parsed, `HTTP ${status}`, secret), {
    upstreamStatus: status,
    retryAfterMs: parseRetryAfterMs(headers, now),
    vendorMessage: vendorMessageOf(parsed, secret),
  });
}

/** Maps the data of an `event: error` received mid-stream (there is no status, so unknown types are 5xx-like). */
export function mapAnthropicStreamError(data: unknown, secret?: string): ProxyError {
  const parsed = anthropicErrorSchema.safeParse(data);
  if (!parsed.success) {
    return new ProxyError(
      "bad_upstream_response",
      "Anthropic sent an error event the gateway could not read.",
    );
  }
  const errorType = parsed.data.error.type;
  const kind = KIND_BY_ERROR_TYPE[errorType] ?? "upstream_error";
  return new ProxyError(kind, describe(parsed.data, "stream error", secret), {
    vendorMessage: vendorMessageOf(parsed.data, secret),
  });
}

function parseErrorBody(body: string): AnthropicErrorBody | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = anthropicErrorSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** Anthropic's message as it wrote it (scrubbed, cut), for the Messages edge. */
function vendorMessageOf(
  parsed: AnthropicErrorBody | undefined,
  secret: string | undefined,
): string | undefined {
  const message = parsed?.error.message;
  return message === undefined ? undefined : scrubUpstreamText(message.slice(0, MAX_MESSAGE_CHARS), secret);
}

function describe(
  parsed: AnthropicErrorBody | undefined,
  fallback: string,
  secret: string | undefined,
): string {
  if (parsed === undefined) return `Anthropic returned an error (${fallback}).`;
  const type = scrubUpstreamText(parsed.error.type.slice(0, MAX_TYPE_CHARS), secret);
  const message = scrubUpstreamText((parsed.error.message ?? "").slice(0, MAX_MESSAGE_CHARS), secret);
  return `Anthropic ${type}: ${message}`.trimEnd();
}
