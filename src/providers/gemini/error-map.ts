/**
 * Google error envelope `{error:{code,message,status,details}}` → ProxyError, for HTTP error answers and for
 * error events inside a stream. The google.rpc `status` decides the kind when present (it is more precise than
 * the HTTP status: a bad key is a 400), and the retry delay comes from the body's RetryInfo, not a header.
 * @see https://ai.google.dev/gemini-api/docs/troubleshooting
 * @see https://cloud.google.com/apis/design/errors#error_model
 */
import { ProxyError, type ProxyErrorKind } from "../../core/errors.ts";
import { scrubUpstreamText } from "../../core/secret-scrubber.ts";
import type { UpstreamErrorMapper } from "../http.ts";
import { kindForUpstreamStatus, MAX_RETRY_AFTER_MS, parseRetryAfterMs } from "../upstream-status.ts";
import {
  errorInfoDetailSchema,
  type GeminiErrorPayload,
  geminiErrorEnvelopeSchema,
  quotaFailureDetailSchema,
  retryInfoDetailSchema,
} from "./wire.ts";

/**
 * google.rpc codes → kinds. On the Gemini API `FAILED_PRECONDITION` (a 400) means "free tier not available in
 * your country, enable billing": an access problem of this upstream, not a fault in the client's request.
 */
const KIND_BY_GOOGLE_STATUS: Readonly<Record<string, ProxyErrorKind>> = {
  INVALID_ARGUMENT: "invalid_request",
  FAILED_PRECONDITION: "permission_denied",
  OUT_OF_RANGE: "invalid_request",
  UNAUTHENTICATED: "authentication",
  PERMISSION_DENIED: "permission_denied",
  NOT_FOUND: "upstream_not_found",
  RESOURCE_EXHAUSTED: "rate_limited",
  ABORTED: "upstream_error",
  UNKNOWN: "upstream_error",
  INTERNAL: "upstream_error",
  UNAVAILABLE: "overloaded",
  DEADLINE_EXCEEDED: "timeout",
};

/** Longest upstream message we pass on. */
const MAX_MESSAGE_CHARS = 1_000;
/** Longest google.rpc status we quote (real ones are short identifiers). */
const MAX_STATUS_CHARS = 100;
/** `google.protobuf.Duration` in JSON: decimal seconds with an `s` suffix. */
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)s$/;

/** The mapper postUpstream uses for non-2xx answers. `apiKey` is only used to scrub it from what is quoted. */
export function createGeminiErrorMapper(apiKey: string | undefined): UpstreamErrorMapper {
  return (status, body, headers, now) => {
    const payload = parseGeminiErrorBody(body);
    const headerDelayMs = parseRetryAfterMs(headers, now);
    if (payload === undefined) {
      return new ProxyError(kindForUpstreamStatus(status), `Gemini answered HTTP ${status}.`, {
        upstreamStatus: status,
        retryAfterMs: headerDelayMs,
      });
    }
    return mapGeminiErrorPayload(payload, status, apiKey, headerDelayMs);
  };
}

/** The error object of a Google envelope, or undefined when the text is not one. */
export function parseGeminiErrorBody(body: string): GeminiErrorPayload | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  // Some Google front ends wrap the envelope in a one-element array.
  const candidate = Array.isArray(json) ? json[0] : json;
  const parsed = geminiErrorEnvelopeSchema.safeParse(candidate);
  return parsed.success ? parsed.data.error : undefined;
}

/** Builds the ProxyError for an error object; `httpStatus` is the response status (200 for stream events). */
export function mapGeminiErrorPayload(
  payload: GeminiErrorPayload,
  httpStatus: number,
  apiKey: string | undefined,
  headerDelayMs?: number,
): ProxyError {
  const details = payload.details ?? [];
  const upstreamStatus = httpStatus >= 400 ? httpStatus : (payload.code ?? httpStatus);
  let kind = kindForGeminiError(payload, upstreamStatus, details);
  if (kind === "rate_limited" && isDailyQuota(details)) kind = "quota_exceeded";
  // A daily quota's RetryInfo only points at the next minute's check; waiting for it would not help.
  const retryAfterMs = kind === "quota_exceeded" ? undefined : (retryDelayMs(details) ?? headerDelayMs);
  const message = scrubUpstreamText((payload.message ?? "").trim().slice(0, MAX_MESSAGE_CHARS), apiKey);
  const status = scrubUpstreamText(
    (payload.status ?? String(upstreamStatus)).slice(0, MAX_STATUS_CHARS),
    apiKey,
  );
  return new ProxyError(
    kind,
    message === "" ? `Gemini error ${status}.` : `Gemini error ${status}: ${message}`,
    {
      upstreamStatus,
      retryAfterMs,
      code: codeForKind(kind),
    },
  );
}

function kindForGeminiError(
  payload: GeminiErrorPayload,
  status: number,
  details: readonly unknown[],
): ProxyErrorKind {
  // An invalid or expired key is a 400 INVALID_ARGUMENT whose ErrorInfo says API_KEY_INVALID.
  if (details.some((detail) => errorInfoDetailSchema.safeParse(detail).data?.reason === "API_KEY_INVALID")) {
    return "authentication";
  }
  const byGoogleStatus = payload.status == null ? undefined : KIND_BY_GOOGLE_STATUS[payload.status];
  return byGoogleStatus ?? kindForUpstreamStatus(status);
}

/** A per-day quota will not reset within any retry budget, so retrying is pointless (fallback still helps). */
function isDailyQuota(details: readonly unknown[]): boolean {
  return details.some((detail) => {
    const parsed = quotaFailureDetailSchema.safeParse(detail);
    return (
      parsed.success &&
      (parsed.data.violations ?? []).some((violation) => /PerDay/.test(violation.quotaId ?? ""))
    );
  });
}

/** Milliseconds from a RetryInfo detail (`"34.4s"` → 34400), capped. */
export function retryDelayMs(details: readonly unknown[]): number | undefined {
  for (const detail of details) {
    const parsed = retryInfoDetailSchema.safeParse(detail);
    if (!parsed.success) continue;
    const match = DURATION_PATTERN.exec(parsed.data.retryDelay);
    if (match?.[1] === undefined) continue;
    return Math.min(Math.round(Number(match[1]) * 1000), MAX_RETRY_AFTER_MS);
  }
  return undefined;
}

/** OpenAI's codes for the two cases clients commonly branch on. */
function codeForKind(kind: ProxyErrorKind): string | undefined {
  if (kind === "authentication") return "invalid_api_key";
  if (kind === "quota_exceeded") return "insufficient_quota";
  return undefined;
}
