/**
 * OpenAI-style errors → ProxyError: HTTP answers before the stream (status + envelope + retry headers) and
 * `{"error": …}` events in the middle of a stream. The upstream message is kept for the client, with anything
 * that looks like a credential scrubbed first (OpenAI echoes a masked key in 401 messages).
 * @see https://platform.openai.com/docs/guides/error-codes
 * @see docs/wire-formats.md#openai-errors
 */
import { ProxyError, type ProxyErrorKind } from "../../core/errors.ts";
import type { UpstreamErrorMapper } from "../http.ts";
import type { UpstreamResponse } from "../types.ts";
import { kindForUpstreamStatus, parseRetryAfterMs } from "../upstream-status.ts";
import { type OpenAIError, openAIErrorBodySchema } from "./wire.ts";

/** Longest upstream message we pass on. */
const MAX_MESSAGE_CHARS = 2000;

/** Error `type`/`code` values that stand in for a status in mid-stream errors. */
const KIND_BY_ERROR_TYPE: ReadonlyMap<string, ProxyErrorKind> = new Map<string, ProxyErrorKind>([
  ["insufficient_quota", "quota_exceeded"],
  ["rate_limit_exceeded", "rate_limited"],
  ["rate_limit_error", "rate_limited"],
  ["overloaded_error", "overloaded"],
  ["server_overloaded", "overloaded"],
  ["invalid_request_error", "invalid_request"],
  ["invalid_api_key", "authentication"],
  ["authentication_error", "authentication"],
  ["permission_error", "permission_denied"],
  ["model_not_found", "upstream_not_found"],
  ["server_error", "upstream_error"],
  ["api_error", "upstream_error"],
]);

/** Things that look like credentials: OpenAI-style keys (also masked `sk-abc***xyz`), Qianfan keys, bearer tokens. */
const SECRET_PATTERNS: readonly RegExp[] = [
  /\b(?:sk|pk|rk|ak)-[\w*.-]*[\w*]/gi,
  /\bbce-v3\/[\w/*.-]*[\w*]/gi,
  /\bbearer\s+[^\s"',]+/gi,
  /(api[\s_-]?key(?:\s+provided)?\s*[:=]\s*)(?!\[redacted\])[^\s"',]*[^\s"',.]/gi,
];

/** The error mapper postUpstream uses for this provider. */
export function createOpenAICompatibleErrorMapper(apiKey: string | undefined): UpstreamErrorMapper {
  return (status, body, headers, now) => mapOpenAICompatibleHttpError(status, body, headers, now, apiKey);
}

/** A non-2xx answer → ProxyError with kind, upstream status, code/param, retry-after and a safe message. */
export function mapOpenAICompatibleHttpError(
  status: number,
  body: string,
  headers: UpstreamResponse["headers"],
  now: number,
  apiKey: string | undefined,
): ProxyError {
  const error = parseErrorBody(body);
  const details = readError(error);
  // The status decides, except quota: OpenAI says 429 + insufficient_quota, DeepSeek says 402.
  const kind = status === 402 || isQuotaError(details) ? "quota_exceeded" : kindForUpstreamStatus(status);
  const retryable = kind === "quota_exceeded" ? false : shouldRetryHeader(headers);
  return new ProxyError(
    kind,
    safeMessage(details.message, apiKey) ?? `The upstream answered HTTP ${status}.`,
    {
      upstreamStatus: status,
      retryAfterMs: parseRetryAfterMs(headers, now),
      ...(details.code === undefined ? {} : { code: details.code }),
      ...(details.param === undefined ? {} : { param: details.param }),
      ...(retryable === undefined ? {} : { retryable }),
    },
  );
}

/** An `{"error": …}` event inside a 200 stream → ProxyError (no status: the type/code decide the kind). */
export function mapOpenAICompatibleStreamError(error: OpenAIError, apiKey: string | undefined): ProxyError {
  const details = readError(error);
  const status = typeof details.rawCode === "number" ? details.rawCode : undefined;
  const fromStatus =
    status !== undefined && status >= 400 && status < 600 ? kindForUpstreamStatus(status) : undefined;
  const kind = isQuotaError(details)
    ? "quota_exceeded"
    : (fromStatus ?? kindForErrorType(details) ?? "upstream_error");
  return new ProxyError(
    kind,
    safeMessage(details.message, apiKey) ?? "The upstream reported an error mid-stream.",
    details.code === undefined ? {} : { code: details.code },
  );
}

/** Removes credentials (the provider's own key, and anything key-shaped) from an upstream message. */
export function scrubSecrets(message: string, apiKey: string | undefined): string {
  let text = apiKey !== undefined && apiKey.length >= 4 ? message.split(apiKey).join("[redacted]") : message;
  for (const pattern of SECRET_PATTERNS) {
    text = text.replace(pattern, (match, prefix: unknown) =>
      typeof prefix === "string" && match.startsWith(prefix) ? `${prefix}[redacted]` : "[redacted]",
    );
  }
  return text;
}

interface ErrorDetails {
  readonly message: string | undefined;
  readonly type: string | undefined;
  readonly code: string | undefined;
  readonly rawCode: string | number | undefined;
  readonly param: string | undefined;
}

function parseErrorBody(body: string): OpenAIError | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = openAIErrorBodySchema.safeParse(json);
  return parsed.success ? parsed.data.error : undefined;
}

function readError(error: OpenAIError | undefined): ErrorDetails {
  if (error === undefined || typeof error === "string") {
    return { message: error, type: undefined, code: undefined, rawCode: undefined, param: undefined };
  }
  return {
    message: error.message ?? undefined,
    type: error.type ?? undefined,
    code: error.code === null || error.code === undefined ? undefined : String(error.code),
    rawCode: error.code ?? undefined,
    param: error.param ?? undefined,
  };
}

function isQuotaError(details: ErrorDetails): boolean {
  return details.code === "insufficient_quota" || details.type === "insufficient_quota";
}

/** Mid-stream there is no status: the code, else the type, names the failure. */
function kindForErrorType(details: ErrorDetails): ProxyErrorKind | undefined {
  const fromCode = details.code === undefined ? undefined : KIND_BY_ERROR_TYPE.get(details.code);
  return fromCode ?? (details.type === undefined ? undefined : KIND_BY_ERROR_TYPE.get(details.type));
}

/** OpenAI's `x-should-retry` overrides the status-based retry decision. */
function shouldRetryHeader(headers: UpstreamResponse["headers"]): boolean | undefined {
  const value = headers["x-should-retry"];
  const first = Array.isArray(value) ? value[0] : value;
  return first === "true" ? true : first === "false" ? false : undefined;
}

function safeMessage(message: string | undefined, apiKey: string | undefined): string | undefined {
  const trimmed = message?.trim();
  if (trimmed === undefined || trimmed === "") return undefined;
  return scrubSecrets(trimmed.slice(0, MAX_MESSAGE_CHARS), apiKey);
}
