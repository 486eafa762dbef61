/**
 * OpenAI-style errors → ProxyError: HTTP answers before the stream (status + envelope + retry headers) and
 * `{"error": …}` events in the middle of a stream. The upstream message, code and param are kept for the client,
 * each scrubbed of secrets first (src/core/secret-scrubber.ts; OpenAI echoes a masked key in 401 messages).
 * @see https://platform.openai.com/docs/guides/error-codes
 * @see docs/wire-formats.md#openai-errors
 */
import { ProxyError, type ProxyErrorKind } from "../../core/errors.ts";
import { scrubUpstreamText } from "../../core/secret-scrubber.ts";
import type { UpstreamErrorMapper } from "../http.ts";
import type { UpstreamResponse } from "../types.ts";
import { kindForUpstreamStatus, parseRetryAfterMs } from "../upstream-status.ts";
import { type OpenAIError, openAIErrorBodySchema } from "./wire.ts";

/** Longest upstream message we pass on. */
const MAX_MESSAGE_CHARS = 2000;
/** Longest upstream `code` or `param` we pass on (real ones are identifiers or JSON paths). */
const MAX_FIELD_CHARS = 200;

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
      ...safeFields(details, apiKey),
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
    details.code === undefined ? {} : { code: safeFields(details, apiKey).code },
  );
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
  return scrubUpstreamText(trimmed.slice(0, MAX_MESSAGE_CHARS), apiKey);
}

/** The envelope's `code` and `param`, which reach the client too: scrubbed like the message, and kept short. */
function safeFields(details: ErrorDetails, apiKey: string | undefined): { code?: string; param?: string } {
  const fields: { code?: string; param?: string } = {};
  if (details.code !== undefined)
    fields.code = scrubUpstreamText(details.code.slice(0, MAX_FIELD_CHARS), apiKey);
  if (details.param !== undefined)
    fields.param = scrubUpstreamText(details.param.slice(0, MAX_FIELD_CHARS), apiKey);
  return fields;
}
