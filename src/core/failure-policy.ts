/**
 * What the core does after a failed attempt, before any byte reached the client:
 * - `retry`: a transient failure (429, 5xx, 529, connection error, timeout before the first chunk): retry with
 *   backoff, rotating through the model's deployments, then fall back to the next model;
 * - `skip-deployment`: this deployment cannot serve (bad key, no access, unknown upstream model, quota, broken
 *   protocol): try the model's other deployments without waiting, then fall back;
 * - `stop`: the request itself is at fault (400, 413) or the client left: answer now. A context-window 400 may
 *   still switch to `context_window_fallbacks`.
 */
import type { ProxyError, ProxyErrorKind } from "./errors.ts";

/** The decision after one failed attempt. */
export type FailureAction = "retry" | "skip-deployment" | "stop";

const SKIP_DEPLOYMENT: ReadonlySet<ProxyErrorKind> = new Set<ProxyErrorKind>([
  "authentication",
  "permission_denied",
  "upstream_not_found",
  "quota_exceeded",
  "bad_upstream_response",
  "configuration",
]);

/** Classifies a failure; retryable errors whose retry-after exceeds `maxRetryWaitMs` skip instead of waiting. */
export function actionFor(error: ProxyError, maxRetryWaitMs: number): FailureAction {
  if (error.retryable) {
    return error.retryAfterMs !== undefined && error.retryAfterMs > maxRetryWaitMs
      ? "skip-deployment"
      : "retry";
  }
  return SKIP_DEPLOYMENT.has(error.kind) ? "skip-deployment" : "stop";
}

/** Whether the deployment itself failed (counts toward its cooldown), as opposed to the request or client. */
export function blamesDeployment(error: ProxyError): boolean {
  return error.retryable || SKIP_DEPLOYMENT.has(error.kind);
}

// Vendors word it differently: OpenAI `context_length_exceeded`, Anthropic "prompt is too long",
// Gemini "input token count ... exceeds the maximum", DeepSeek/Qwen "maximum context length".
const CONTEXT_WINDOW_MESSAGE =
  /context[ _-](length|window)|prompt is too long|exceeds the maximum (number of tokens|context)|too many tokens/i;

/** Whether a failure says the request does not fit the model's context window. */
export function isContextWindowError(error: ProxyError): boolean {
  if (error.kind !== "invalid_request" && error.kind !== "request_too_large") return false;
  return error.code === "context_length_exceeded" || CONTEXT_WINDOW_MESSAGE.test(error.message);
}
