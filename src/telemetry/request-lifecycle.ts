/**
 * The observers of one chat request, as the edges hand them to the core (CallOptions.observer): its record, which
 * the access line and the metrics read when the response is over (./record-observer.ts), and its spans
 * (./request-trace.ts) when the request is traced. Further observers of the core's lifecycle join the list here.
 */
import { fanOut, type RequestObserver } from "../core/observer.ts";
import { RecordObserver } from "./record-observer.ts";
import type { RequestRecord } from "./request-record.ts";
import { RequestTrace } from "./request-trace.ts";

/**
 * The observer of the request that `record` belongs to; undefined without a record (nothing to report to). Spans
 * only when the edge left a trace context for the core: none with tracing off, nor for a request sampled out at the
 * edge that continues no caller's trace (./edge-trace-context.ts).
 */
export function observeRequest(record: RequestRecord | null | undefined): RequestObserver | undefined {
  if (record === null || record === undefined) return undefined;
  const recordObserver = new RecordObserver(record);
  const traceContext = record.edgeContext;
  return traceContext === undefined
    ? recordObserver
    : fanOut([recordObserver, new RequestTrace(record, traceContext)]);
}
