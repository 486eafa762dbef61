/**
 * The hand-written OTLP JSON must be the SDK's own JSON serializer's output, byte for byte: spans of two scopes with
 * every attribute kind, events, links, errors, remote and local parents, trace state.
 */
import { context, SpanKind, SpanStatusCode, TraceFlags, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { otlpJsonOf } from "../../src/telemetry/otlp-json.ts";
import { decodeSpans, encodeSpans, toResourceRecord, toSpanRecord } from "../../src/telemetry/span-record.ts";

function recordSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": "llm-proxy-test", "deployment.count": 3 }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer("llm-proxy");
  const other = provider.getTracer("another-scope", "0.34.0");
  const remote = new W3CTraceContextPropagator().extract(
    context.active(),
    { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "vendor=abc" },
    { get: (carrier, key) => carrier[key as keyof typeof carrier], keys: (carrier) => Object.keys(carrier) },
  );
  const server = tracer.startSpan("POST /v1/chat/completions", { kind: SpanKind.SERVER }, remote);
  server.setAttributes({
    "http.request.method": "POST",
    "http.response.status_code": 200,
    ratio: 0.25,
    ok: true,
    "gen_ai.response.finish_reasons": ["stop", "length"],
    counts: [1, 2, 3],
    'quote"d': 'line\nbreak "and" ünïcode 🌏',
  });
  server.addEvent("something", { detail: "x" });
  const child = tracer.startSpan("chat m1", undefined, trace.setSpan(remote, server));
  child.addLink({ context: server.spanContext(), attributes: { why: "because" } });
  child.setStatus({ code: SpanStatusCode.ERROR, message: "upstream said no" });
  child.end();
  const client = other.startSpan("POST", { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), child));
  client.setStatus({ code: SpanStatusCode.OK });
  client.end();
  const root = tracer.startSpan("orphan", { root: true });
  root.end();
  server.end();
  expect(server.spanContext().traceFlags).toBe(TraceFlags.SAMPLED);
  return exporter.getFinishedSpans();
}

describe("otlpJsonOf", () => {
  it("writes what the SDK's JSON serializer writes", () => {
    const spans = recordSpans();
    expect(spans).toHaveLength(4);
    const sdk = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans));
    const resource = toResourceRecord((spans[0] as ReadableSpan).resource);
    expect(otlpJsonOf(resource, spans.map(toSpanRecord))).toBe(sdk);
  });

  it("writes the same from a batch that crossed to the export worker (encoded, cloned, decoded)", () => {
    const spans = recordSpans();
    const sdk = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans));
    const cloned = structuredClone({
      resource: toResourceRecord((spans[0] as ReadableSpan).resource),
      spans: encodeSpans(spans),
    });
    const records = decodeSpans(cloned.spans);
    expect(records).toEqual(spans.map(toSpanRecord));
    expect(otlpJsonOf(cloned.resource, records)).toBe(sdk);
  });

  it("reuses one scratch array batch after batch, cut to each batch and with no holes", () => {
    const spans = recordSpans();
    const scratch: unknown[] = [];
    const whole = structuredClone(encodeSpans(spans, scratch));
    const firstOnly = structuredClone(encodeSpans(spans.slice(0, 1), scratch));
    expect(decodeSpans(firstOnly)).toEqual(spans.slice(0, 1).map(toSpanRecord));
    expect(firstOnly.length).toBeLessThan(whole.length);
    expect(decodeSpans(structuredClone(encodeSpans(spans, scratch)))).toEqual(spans.map(toSpanRecord));
    expect(Object.keys(scratch)).toHaveLength(scratch.length);
  });

  it("writes an empty request for no spans", () => {
    expect(otlpJsonOf({ attributes: {}, schemaUrl: undefined }, [])).toBe(
      new TextDecoder().decode(JsonTraceSerializer.serializeRequest([])),
    );
  });
});
