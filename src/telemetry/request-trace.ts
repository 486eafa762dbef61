/**
 * Tracing's view of the core's lifecycle (src/core/observer.ts): one span per request ("chat {model}", a child of the
 * edge's span) and one child span per upstream attempt, which is the CLIENT span of its upstream HTTP request: the
 * adapter's request is handed ./upstream-call.ts for it (`upstreamCall`), which sends its `traceparent` upstream
 * and records the HTTP attributes on it. The request's trace id goes into its record, for the access line.
 *
 * Made only for a request its edge traces (./request-lifecycle.ts, ./edge-trace-context.ts): a sampled one, or one
 * sampled out that continues a caller's trace, whose spans the SDK makes non-recording (they carry the trace id
 * upstream). Attributes are set once, when a span ends, and only on recording spans; nothing runs per chunk except
 * noting finish reasons of a recorded request.
 * @see https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/
 */
import {
  type Context,
  INVALID_SPAN_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { ProxyError } from "../core/errors.ts";
import type { AttemptStart, RequestObserver, RequestStart, UpstreamCallObserver } from "../core/observer.ts";
import { scrubSecrets } from "../core/secret-scrubber.ts";
import type { FinishReason, Usage } from "../core/types.ts";
import * as attr from "./attributes.ts";
import type { RequestRecord } from "./request-record.ts";
import { tracedUpstreamCall } from "./upstream-call.ts";

const tracer = trace.getTracer("llm-proxy");
const ATTEMPT_SPAN = { kind: SpanKind.CLIENT };
/** Stands for the request span until the request starts. */
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** One request's spans. Every method is safe to call after the request ended (it does nothing). */
export class RequestTrace implements RequestObserver {
  readonly #record: RequestRecord;
  /** The edge's trace context, which the request span starts under. */
  readonly #parent: Context;
  #span: Span = NO_SPAN;
  /** The request span's context, once it started. */
  #context: Context | undefined;
  #requestId = "";
  #model = "";
  #fallbackFrom: string | undefined;
  #attempt: Span | undefined;
  /** A failed attempt, ended once we know what came after it (its end time is kept). */
  #failed: { readonly span: Span; readonly at: number } | undefined;
  /** What the request span sums up when it ends (kept only while it records). */
  #provider: string | undefined;
  #upstreamModel: string | undefined;
  #attempts = 0;
  #retries = 0;
  #fallbacks = 0;
  #usage: Usage | undefined;
  #finishReasons: FinishReason[] | undefined;
  #ended = false;

  /** `record` is the edge's and gets the trace id; `parent` is the context its edge left for the core. */
  constructor(record: RequestRecord, parent: Context) {
    this.#record = record;
    this.#parent = parent;
  }

  /** Starts the request span under the edge's span (the HTTP server span, or the RPC span over HTTP/2). */
  requestStarted(start: RequestStart): void {
    const { request, requestId, stream, operation } = start;
    const parent = this.#parent;
    const span = tracer.startSpan(`${operation} ${request.model}`, undefined, parent);
    if (span.isRecording()) {
      this.#record.traceId = span.spanContext().traceId;
      this.#finishReasons = [];
      span.setAttributes({
        [attr.ATTR_GEN_AI_OPERATION_NAME]: operation,
        [attr.ATTR_GEN_AI_REQUEST_MODEL]: request.model,
        [attr.ATTR_REQUEST_ID]: requestId,
        [attr.ATTR_STREAM]: stream,
      });
      if (start.operation === "chat") {
        const chat = start.request;
        span.setAttributes({
          [attr.ATTR_GEN_AI_REQUEST_MAX_TOKENS]: chat.maxCompletionTokens ?? chat.maxTokens,
          [attr.ATTR_GEN_AI_REQUEST_TEMPERATURE]: chat.temperature,
          [attr.ATTR_GEN_AI_REQUEST_TOP_P]: chat.topP,
        });
      }
    }
    this.#span = span;
    this.#context = trace.setSpan(parent, span);
    this.#requestId = requestId;
    this.#model = request.model;
  }

  fallback(from: string, to: string): void {
    this.#fallbackFrom = from;
    this.#model = to;
  }

  /** Starts the attempt's span; the previous failed attempt's span ends saying what came next. */
  attemptStarted({ number, provider, upstreamModel }: AttemptStart): void {
    const fallbackFrom = this.#fallbackFrom;
    this.#fallbackFrom = undefined;
    this.#attempts = number;
    if (fallbackFrom !== undefined) this.#fallbacks += 1;
    else if (number > 1) this.#retries += 1;
    this.#provider = provider;
    this.#upstreamModel = upstreamModel;
    const parent = this.#context;
    if (parent === undefined) return;
    this.#endFailedAttempt(fallbackFrom === undefined ? "retry" : "fallback");
    const span = tracer.startSpan(`attempt ${provider}`, ATTEMPT_SPAN, parent);
    if (span.isRecording()) {
      span.setAttributes({
        [attr.ATTR_ATTEMPT_NUMBER]: number,
        [attr.ATTR_GEN_AI_PROVIDER_NAME]: provider,
        [attr.ATTR_GEN_AI_REQUEST_MODEL]: upstreamModel,
        [attr.ATTR_MODEL_GROUP]: this.#model,
        [attr.ATTR_REQUEST_ID]: this.#requestId,
        [attr.ATTR_FALLBACK_FROM]: fallbackFrom,
      });
    }
    this.#attempt = span;
  }

  /** The attempt's upstream request: it carries the attempt span's trace context and notes its status there. */
  upstreamCall(): UpstreamCallObserver | undefined {
    const parent = this.#context;
    const span = this.#attempt;
    return parent === undefined || span === undefined
      ? undefined
      : tracedUpstreamCall(span, trace.setSpan(parent, span));
  }

  /** The attempt's span ends when the next step is known. */
  attemptFailed(error: ProxyError): void {
    const span = this.#attempt;
    this.#attempt = undefined;
    if (span === undefined) return;
    if (span.isRecording()) {
      span.setAttribute(attr.ATTR_ATTEMPT_STATUS, error.kind);
      markFailed(span, error);
    }
    this.#failed = { span, at: performance.now() };
  }

  firstChunk(): void {}

  choiceFinished(reason: FinishReason): void {
    this.#finishReasons?.push(reason);
  }

  usage(usage: Usage): void {
    this.#usage = usage;
  }

  finished(failure: ProxyError | undefined, served: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    const span = this.#span;
    if (!served) this.#endFailedAttempt("none");
    else {
      const attempt = this.#attempt;
      this.#attempt = undefined;
      if (attempt !== undefined) endServingAttempt(attempt, failure);
    }
    if (span.isRecording()) {
      span.setAttributes({
        [attr.ATTR_GEN_AI_PROVIDER_NAME]: this.#provider,
        [attr.ATTR_GEN_AI_RESPONSE_MODEL]: this.#upstreamModel,
        [attr.ATTR_ATTEMPTS]: this.#attempts,
        [attr.ATTR_RETRIES]: this.#retries,
        [attr.ATTR_FALLBACKS]: this.#fallbacks,
      });
      if (served) {
        span.setAttributes({
          [attr.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: this.#usage?.promptTokens,
          [attr.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: this.#usage?.completionTokens,
          [attr.ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: this.#finishReasons,
        });
      }
      if (failure !== undefined) markFailed(span, failure);
    }
    span.end();
  }

  #endFailedAttempt(next: "retry" | "fallback" | "none"): void {
    const failed = this.#failed;
    if (failed === undefined) return;
    this.#failed = undefined;
    if (failed.span.isRecording()) failed.span.setAttribute(attr.ATTR_ATTEMPT_NEXT, next);
    failed.span.end(failed.at);
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
  // Spans leave the process too: the same last line of defence as the edges' error answers.
  span.setStatus({ code: SpanStatusCode.ERROR, message: scrubSecrets(error.message) });
}
