/**
 * An OTLP/HTTP trace receiver on 127.0.0.1 (port from the OS), as a collector or Jaeger would run it: it accepts
 * the JSON encoding on POST /v1/traces and keeps every span, flattened, with the resource's service.name.
 * @see https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding
 */
import type { IncomingHttpHeaders } from "node:http";
import { z } from "zod";
import { startLoopbackServer } from "../helpers/mock-server.ts";

/** One received span with its attributes as plain values. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly serviceName: unknown;
}

/** A running receiver. */
export interface OtlpReceiver {
  /** Base URL, as for OTEL_EXPORTER_OTLP_ENDPOINT / telemetry.endpoint. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Headers of each export request. */
  readonly exports: IncomingHttpHeaders[];
  /** Resolves once `predicate` holds for the spans received so far (polled), or rejects after `timeoutMs`. */
  waitFor(predicate: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

type AnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
};
const anyValue: z.ZodType<AnyValue> = z.lazy(() =>
  z.object({
    stringValue: z.string().optional(),
    boolValue: z.boolean().optional(),
    intValue: z.union([z.string(), z.number()]).optional(),
    doubleValue: z.number().optional(),
    arrayValue: z.object({ values: z.array(anyValue).optional() }).optional(),
  }),
);
const keyValues = z.array(z.object({ key: z.string(), value: anyValue })).optional();
const exportRequest = z.object({
  resourceSpans: z.array(
    z.object({
      resource: z.object({ attributes: keyValues }).optional(),
      scopeSpans: z.array(
        z.object({
          spans: z.array(
            z.object({
              traceId: z.string(),
              spanId: z.string(),
              parentSpanId: z.string().optional(),
              name: z.string(),
              kind: z.number(),
              attributes: keyValues,
              status: z.object({ code: z.number().optional() }).optional(),
            }),
          ),
        }),
      ),
    }),
  ),
});

function plain(value: AnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(plain);
  return undefined;
}

function toRecord(list: z.infer<typeof keyValues>): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((entry) => [entry.key, plain(entry.value)]));
}

/** Starts the receiver. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const exports: IncomingHttpHeaders[] = [];
  const server = await startLoopbackServer((request, raw, response) => {
    if (request.url !== "/v1/traces" || request.headers["content-type"] !== "application/json") {
      response.writeHead(415).end();
      return;
    }
    exports.push(request.headers);
    const body = exportRequest.parse(JSON.parse(raw));
    for (const resourceSpans of body.resourceSpans) {
      const serviceName = toRecord(resourceSpans.resource?.attributes)["service.name"];
      for (const scope of resourceSpans.scopeSpans) {
        for (const span of scope.spans) {
          spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId === "" ? undefined : span.parentSpanId,
            name: span.name,
            kind: span.kind,
            attributes: toRecord(span.attributes),
            statusCode: span.status?.code ?? 0,
            serviceName,
          });
        }
      }
    }
    response.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  return {
    endpoint: server.origin,
    spans,
    exports,
    async waitFor(predicate, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(spans)) {
        if (Date.now() > deadline)
          throw new Error(`spans never matched; got ${JSON.stringify(spans.map((s) => s.name))}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: server.close,
  };
}
