/**
 * The OpenTelemetry context of a request's edge span (the HTTP server span), kept beside its RequestRecord. The core
 * and the Connect interceptor start their spans under it explicitly, instead of relying on the context being
 * active wherever Fastify happens to run the handler (that would take binding every request and response event
 * emitter to the context, which is most of what tracing used to cost per request).
 */
import type { Context } from "@opentelemetry/api";
import type { RequestRecord } from "./request-record.ts";

const contexts = new WeakMap<RequestRecord, Context>();

/** Remembers the edge span's context of a request. */
export function setEdgeContext(record: RequestRecord, context: Context): void {
  contexts.set(record, context);
}

/** The edge span's context of a request, if tracing made one. */
export function edgeContextOf(record: RequestRecord | null | undefined): Context | undefined {
  return record === null || record === undefined ? undefined : contexts.get(record);
}
