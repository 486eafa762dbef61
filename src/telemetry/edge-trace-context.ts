/**
 * What follows from the one sampling decision of a request, taken when its edge span starts (the HTTP server span,
 * or the RPC span of an HTTP/2 call): the SDK's tracer asks the configured sampler there (ParentBasedSampler: the
 * caller's sampled flag; TraceIdRatioBasedSampler: the trace id), and a sampled-out span is the API's
 * NonRecordingSpan. Everything after the edge follows that decision instead of asking again per span.
 */
import { type Context, type Span, trace } from "@opentelemetry/api";

/**
 * The context the request's further spans start under, or undefined when the request needs no tracing at all.
 * - Sampled: the edge span's context; the core records the request and attempt spans under it.
 * - Sampled out, continuing a caller's trace: still the edge span's context, so that the upstream call carries the
 *   caller's trace id with the sampled flag 0 (W3C trace-context: a participant that does not record forwards the
 *   trace); the SDK makes the spans under it non-recording.
 * - Sampled out, a trace of our own: none. Nobody will ever see that trace id, so the request makes no further
 *   span, enters no context and sends no `traceparent` upstream; the vendor starts its own trace if it traces.
 */
export function traceContextOf(parent: Context, edgeSpan: Span): Context | undefined {
  if (!edgeSpan.isRecording() && trace.getSpan(parent) === undefined) return undefined;
  return trace.setSpan(parent, edgeSpan);
}
