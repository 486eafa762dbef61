/**
 * The status and retry headers of an error reply, the same whatever the error's body shape (OpenAI's envelope,
 * Anthropic's): upstream 5xx statuses pass through as they were, so clients see what happened; the vendor's
 * retry delay goes out as `retry-after` (seconds) and `retry-after-ms` (the SDKs read it first); errors that do
 * not heal by retrying (quota and spend caps, any non-retryable one) say `x-should-retry: false`, which the
 * OpenAI and Anthropic SDKs both read.
 */
import type { ProxyError } from "../core/errors.ts";

/** The reply status of `error`, whose kind maps to `mappedStatus`. */
export function errorStatusOf(error: ProxyError, mappedStatus: number): number {
  return error.kind === "upstream_error" && error.upstreamStatus !== undefined && error.upstreamStatus >= 500
    ? error.upstreamStatus
    : mappedStatus;
}

/** The retry headers of `error` (a fresh object the caller may add to). */
export function retryHeadersOf(error: ProxyError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.retryAfterMs !== undefined) {
    // The vendor's own value, not the gateway's cap on its own waiting.
    headers["retry-after"] = String(Math.ceil(error.retryAfterMs / 1000));
    headers["retry-after-ms"] = String(Math.ceil(error.retryAfterMs));
  }
  if (error.kind === "quota_exceeded" || !error.retryable) headers["x-should-retry"] = "false";
  return headers;
}
