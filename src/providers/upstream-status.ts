/**
 * Generic upstream HTTP status → ProxyError kind, and the retry-after headers. Each provider's error map
 * refines this with what its error body says (e.g. OpenAI's `insufficient_quota`).
 * @see docs/wire-formats.md#retryability-by-upstream-status
 */
import type { ProxyErrorKind } from "../core/errors.ts";

/** The kind an upstream status means when the body says nothing more specific. */
export function kindForUpstreamStatus(status: number): ProxyErrorKind {
  if (status === 400 || status === 422) return "invalid_request";
  if (status === 413) return "request_too_large";
  if (status === 401) return "authentication";
  if (status === 403) return "permission_denied";
  if (status === 404) return "upstream_not_found";
  if (status === 408 || status === 504) return "timeout";
  if (status === 409) return "upstream_error";
  if (status === 429) return "rate_limited";
  if (status === 503 || status === 529) return "overloaded";
  if (status >= 500) return "upstream_error";
  return "bad_upstream_response";
}

/**
 * The longest retry-after taken from a vendor: clients are told the vendor's own value (an hour stays an hour);
 * the bound only keeps absurd numbers out of the header. How long the gateway itself waits is bounded apart
 * (src/core/retry-policy.ts, proxy.max_retry_wait).
 */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/** Milliseconds from `retry-after-ms` or `retry-after` (seconds or HTTP date), when present and sane. */
export function parseRetryAfterMs(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  now: number,
): number | undefined {
  const milliseconds = Number(firstHeader(headers["retry-after-ms"]));
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return Math.min(milliseconds, MAX_RETRY_AFTER_MS);
  const value = firstHeader(headers["retry-after"]);
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value === "" ? undefined : value;
}
