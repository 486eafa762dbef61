/**
 * The one error type of the gateway. Adapters, the core and the edges throw only ProxyError; each edge maps
 * `kind` once (src/edge/openai-errors.ts for HTTP, src/grpc/errors.ts for Connect).
 */

/** Closed set of failure kinds. Adding one fails compilation until both edges map it. */
export type ProxyErrorKind =
  /** The client's request is malformed or names something invalid. */
  | "invalid_request"
  /** The client's request body is larger than server.body_limit. */
  | "request_too_large"
  /** No route for the requested model. */
  | "model_not_found"
  /** The upstream rejected our credentials (or the gateway has none for it). */
  | "authentication"
  /** The upstream refused access to this model or feature. */
  | "permission_denied"
  /** The upstream answered 404 (unknown model id or endpoint). */
  | "upstream_not_found"
  /** The upstream rate-limited us; worth retrying later. */
  | "rate_limited"
  /** Quota or spend cap exhausted; retrying will not help. */
  | "quota_exceeded"
  /** The client's own key is over one of its limits (rpm, tpm, max_parallel, budget): the gateway refused it. */
  | "limit_exceeded"
  /** The upstream is overloaded (503, Anthropic 529). */
  | "overloaded"
  /** The upstream failed (5xx other than overload). */
  | "upstream_error"
  /** The upstream could not be reached (DNS, refused, reset). */
  | "upstream_unavailable"
  /** A time budget ran out. */
  | "timeout"
  /** The upstream's answer broke its own protocol (bad JSON, truncated stream). */
  | "bad_upstream_response"
  /** The caller went away. */
  | "cancelled"
  /** A provider is configured wrongly (e.g. its key variable is unset). */
  | "configuration"
  /** A bug in the gateway. */
  | "internal";

/** Every kind, in declaration order; tests iterate it to check each has a mapping and a README row. */
export const PROXY_ERROR_KINDS: readonly ProxyErrorKind[] = [
  "invalid_request",
  "request_too_large",
  "model_not_found",
  "authentication",
  "permission_denied",
  "upstream_not_found",
  "rate_limited",
  "quota_exceeded",
  "limit_exceeded",
  "overloaded",
  "upstream_error",
  "upstream_unavailable",
  "timeout",
  "bad_upstream_response",
  "cancelled",
  "configuration",
  "internal",
];

const RETRYABLE_KINDS: ReadonlySet<ProxyErrorKind> = new Set<ProxyErrorKind>([
  "rate_limited",
  "limit_exceeded",
  "overloaded",
  "upstream_error",
  "upstream_unavailable",
  "timeout",
]);

/** Details a ProxyError may carry. */
export interface ProxyErrorOptions {
  /** The upstream's HTTP status, when the error came from one. */
  readonly upstreamStatus?: number;
  /** Which request field is at fault (OpenAI's `param`). */
  readonly param?: string;
  /** A machine-readable code (OpenAI's `code`), e.g. `model_not_found`. */
  readonly code?: string;
  /** Milliseconds the upstream asked us to wait before retrying. */
  readonly retryAfterMs?: number;
  /** Overrides the default retryability of the kind. */
  readonly retryable?: boolean;
  /** The underlying error, for logs only: never shown to clients. */
  readonly cause?: unknown;
  /**
   * The vendor's own message as it wrote it (scrubbed), for an edge of the vendor's format to pass on unchanged
   * (the Messages edge, for an Anthropic upstream: Claude Code reads some of Anthropic's 400 messages).
   */
  readonly vendorMessage?: string;
}

/** A failure with a kind both edges know how to report. The message is safe to show to clients. */
export class ProxyError extends Error {
  readonly kind: ProxyErrorKind;
  readonly retryable: boolean;
  readonly upstreamStatus: number | undefined;
  readonly param: string | undefined;
  readonly code: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly vendorMessage: string | undefined;

  constructor(kind: ProxyErrorKind, message: string, options: ProxyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ProxyError";
    this.kind = kind;
    this.retryable = options.retryable ?? RETRYABLE_KINDS.has(kind);
    this.upstreamStatus = options.upstreamStatus;
    this.param = options.param;
    this.code = options.code;
    this.retryAfterMs = options.retryAfterMs;
    this.vendorMessage = options.vendorMessage;
  }

  /** Normalises anything thrown into a ProxyError without leaking its message (it may hold internals). */
  static from(error: unknown): ProxyError {
    if (error instanceof ProxyError) return error;
    if (error instanceof Error && error.name === "TimeoutError") {
      return new ProxyError("timeout", "The request timed out.", { cause: error });
    }
    if (error instanceof Error && error.name === "AbortError") {
      return new ProxyError("cancelled", "The request was cancelled.", { cause: error });
    }
    return new ProxyError("internal", "Internal error in the gateway.", { cause: error });
  }
}
