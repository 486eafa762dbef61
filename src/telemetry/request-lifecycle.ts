/**
 * The observers of one chat request, as the edges hand them to the core (CallOptions.observer): its record, which
 * the access line and the metrics read when the response is over (./record-observer.ts), and its spans
 * (./request-trace.ts). Further observers of the core's lifecycle join the list here.
 */
import { fanOut, type RequestObserver } from "../core/observer.ts";
import { RecordObserver } from "./record-observer.ts";
import type { RequestRecord } from "./request-record.ts";
import { RequestTrace } from "./request-trace.ts";

/** The observer of the request that `record` belongs to; undefined without a record (nothing to report to). */
export function observeRequest(record: RequestRecord | null | undefined): RequestObserver | undefined {
  if (record === null || record === undefined) return undefined;
  return fanOut([new RecordObserver(record), new RequestTrace(record)]);
}
