/**
 * The core's side of observability: one span per request ("chat {model}", a child of the edge's span) and one
 * child span per upstream attempt, which is the CLIENT span of its upstream HTTP request: ACTIVE while the adapter
 * makes that request, so that ./upstream-call.ts sends its `traceparent` upstream and records the HTTP attributes
 * on it. It also fills the request's RequestRecord for the access log and the metrics.
 *
 * Only the OpenTelemetry API is used: with no SDK started, the tracer is the API's no-op, its span has an invalid
 * context, and no context is built or entered at all (only the record is filled). Attributes are set once, when a
 * span ends, and only on recording spans; nothing runs per chunk except noting finish reasons.
 * @see https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/
 */
import {
  type Context,
  context,
  isSpanContextValid,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { CallOptions } from "../core/chat-stream.ts";
import { ProxyError } from "../core/errors.ts";
import type { ChatRequest, FinishReason, Usage } from "../core/types.ts";
import * as attr from "./attributes.ts";
import { createRequestRecord, type RequestRecord } from "./request-record.ts";

const tracer = trace.getTracer("llm-proxy");
const ATTEMPT_SPAN = { kind: SpanKind.CLIENT };

/** Starts the core span of one request, under whatever span is active (the edge's). */
export function startRequestTrace(request: ChatRequest, options: CallOptions, stream: boolean): RequestTrace {
  const record = options.record ?? createRequestRecord(options.requestId, "http", true, performance.now());
  record.stream = stream;
  // Under the edge's span: the HTTP server span (kept with the record), else whatever is active (the RPC span).
  const parent = options.record?.edgeContext ?? context.active();
  const span = tracer.startSpan(`chat ${request.model}`, undefined, parent);
  if (span.isRecording()) {
    record.traceId = span.spanContext().traceId;
    span.setAttributes({
      [attr.ATTR_GEN_AI_OPERATION_NAME]: "chat",
      [attr.ATTR_GEN_AI_REQUEST_MODEL]: request.model,
      [attr.ATTR_REQUEST_ID]: options.requestId,
      [attr.ATTR_STREAM]: stream,
      [attr.ATTR_GEN_AI_REQUEST_MAX_TOKENS]: request.maxCompletionTokens ?? request.maxTokens,
      [attr.ATTR_GEN_AI_REQUEST_TEMPERATURE]: request.temperature,
      [attr.ATTR_GEN_AI_REQUEST_TOP_P]: request.topP,
    });
  }
  // An SDK gives every span a valid context, sampled or not (a sampled-out one still propagates traceparent).
  const spanContext = isSpanContextValid(span.spanContext()) ? trace.setSpan(parent, span) : undefined;
  return new RequestTrace(record, span, spanContext, request.model);
}

/** One request's spans and record. Every method is safe to call after the request ended (it does nothing). */
export class RequestTrace {
  readonly record: RequestRecord;
  readonly #span: Span;
  /** Undefined when tracing is off: no attempt spans, no context switches. */
  readonly #context: Context | undefined;
  readonly #requestModel: string;
  #model: string;
  #fallbackFrom: string | undefined;
  #attempt: Span | undefined;
  /** A failed attempt, ended once we know what came after it (its end time is kept). */
  #failed: { readonly span: Span; readonly at: number } | undefined;
  #ended = false;

  constructor(record: RequestRecord, span: Span, spanContext: Context | undefined, requestModel: string) {
    this.record = record;
    this.#span = span;
    this.#context = spanContext;
    this.#requestModel = requestModel;
    this.#model = requestModel;
  }

  /** The next attempts serve another public model, because `from` failed. */
  fallingBack(from: string, to: string): void {
    this.#fallbackFrom = from;
    this.#model = to;
  }

  /** Runs `open` (the adapter's request up to its first chunk) with a new attempt span active. */
  runAttempt<T>(provider: string, upstreamModel: string, open: () => T): T {
    const record = this.record;
    record.model ??= this.#requestModel;
    record.attempts += 1;
    if (this.#fallbackFrom !== undefined) record.fallbacks += 1;
    else if (record.attempts > 1) record.retries += 1;
    record.provider = provider;
    record.upstreamModel = upstreamModel;
    record.upstreamStartedAt ??= performance.now();
    const parent = this.#context;
    if (parent === undefined) {
      this.#fallbackFrom = undefined;
      return open();
    }
    this.#endFailedAttempt(this.#fallbackFrom === undefined ? "retry" : "fallback");
    const span = tracer.startSpan(`attempt ${provider}`, ATTEMPT_SPAN, parent);
    if (span.isRecording()) {
      span.setAttributes({
        [attr.ATTR_ATTEMPT_NUMBER]: record.attempts,
        [attr.ATTR_GEN_AI_PROVIDER_NAME]: provider,
        [attr.ATTR_GEN_AI_REQUEST_MODEL]: upstreamModel,
        [attr.ATTR_MODEL_GROUP]: this.#model,
        [attr.ATTR_REQUEST_ID]: record.requestId,
        [attr.ATTR_FALLBACK_FROM]: this.#fallbackFrom,
      });
    }
    this.#fallbackFrom = undefined;
    this.#attempt = span;
    return context.with(trace.setSpan(parent, span), open);
  }

  /** The current attempt delivered its first chunk: it serves the request. */
  attemptOpened(): void {
    this.record.firstChunkAt = performance.now();
  }

  /** The current attempt failed before its first chunk (its span ends when the next step is known). */
  attemptFailed(error: ProxyError): void {
    this.record.attemptOutcomes.push({ provider: this.record.provider ?? "", outcome: error.kind });
    const span = this.#attempt;
    this.#attempt = undefined;
    if (span === undefined) return;
    if (span.isRecording()) {
      span.setAttribute(attr.ATTR_ATTEMPT_STATUS, error.kind);
      markFailed(span, error);
    }
    this.#failed = { span, at: performance.now() };
  }

  /** A choice finished (called once per choice, not per chunk). */
  noteFinish(reason: FinishReason): void {
    this.record.finishReasons.push(reason);
  }

  /** The request failed before any stream was handed to the edge. Returns the error for throwing. */
  fail(error: unknown): unknown {
    if (this.#ended) return error;
    this.#ended = true;
    this.#endFailedAttempt("none");
    const failure = ProxyError.from(error);
    this.record.errorKind ??= failure.kind;
    if (this.#span.isRecording()) {
      this.#setOutcomeAttributes();
      markFailed(this.#span, failure);
    }
    this.#span.end();
    return error;
  }

  /** The stream ended: completely (no failure), failed mid-stream, or was abandoned by the edge (`cancelled`). */
  end(failure: ProxyError | undefined, usage: Usage | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    const record = this.record;
    record.upstreamEndedAt = performance.now();
    if (usage !== undefined) {
      record.inputTokens = usage.promptTokens;
      record.outputTokens = usage.completionTokens;
    }
    if (failure !== undefined) record.errorKind ??= failure.kind;
    record.attemptOutcomes.push({ provider: record.provider ?? "", outcome: failure?.kind ?? "ok" });
    const attempt = this.#attempt;
    this.#attempt = undefined;
    if (attempt !== undefined) endServingAttempt(attempt, failure);
    if (this.#span.isRecording()) {
      this.#setOutcomeAttributes();
      this.#span.setAttributes({
        [attr.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: record.inputTokens,
        [attr.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: record.outputTokens,
        [attr.ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: record.finishReasons,
      });
      if (failure !== undefined) markFailed(this.#span, failure);
    }
    this.#span.end();
  }

  #endFailedAttempt(next: "retry" | "fallback" | "none"): void {
    const failed = this.#failed;
    if (failed === undefined) return;
    this.#failed = undefined;
    if (failed.span.isRecording()) failed.span.setAttribute(attr.ATTR_ATTEMPT_NEXT, next);
    failed.span.end(failed.at);
  }

  #setOutcomeAttributes(): void {
    const record = this.record;
    this.#span.setAttributes({
      [attr.ATTR_GEN_AI_PROVIDER_NAME]: record.provider,
      [attr.ATTR_GEN_AI_RESPONSE_MODEL]: record.upstreamModel,
      [attr.ATTR_ATTEMPTS]: record.attempts,
      [attr.ATTR_RETRIES]: record.retries,
      [attr.ATTR_FALLBACKS]: record.fallbacks,
    });
  }
}

function endServingAttempt(span: Span, failure: ProxyError | undefined): void {
  if (span.isRecording()) {
    span.setAttribute(attr.ATTR_ATTEMPT_STATUS, failure?.kind ?? "ok");
    if (failure !== undefined) markFailed(span, failure);
  }
  span.end();
}

function markFailed(span: Span, error: ProxyError): void {
  span.setAttribute(attr.ATTR_ERROR_TYPE, error.kind);
  if (error.upstreamStatus !== undefined)
    span.setAttribute(attr.ATTR_HTTP_RESPONSE_STATUS_CODE, error.upstreamStatus);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}
