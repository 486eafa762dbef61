/**
 * Starts the OpenTelemetry trace SDK (3.x line): a tracer provider with a batch OTLP/HTTP (JSON) exporter, the
 * AsyncLocalStorage context manager, W3C trace-context + baggage propagation, the undici instrumentation (the
 * client span of each upstream call, and `traceparent` to the vendor), and the gateway's own HTTP server spans
 * (./http-server-span.ts: far cheaper than the http instrumentation, which bound every request's event emitters).
 * Imported dynamically, and only when tracing is configured, so that with tracing off no SDK package is ever
 * loaded. No metric or log exporters, no resource detectors beyond the OTEL_* variables (nothing probes cloud
 * metadata services).
 * @see https://github.com/open-telemetry/opentelemetry-js/tree/main/packages/opentelemetry-sdk-trace
 */
import { context, DiagLogLevel, diag, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { UndiciInstrumentation } from "@opentelemetry/instrumentation-undici";
import { OTLPExporterBase } from "@opentelemetry/otlp-exporter-base";
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from "@opentelemetry/otlp-exporter-base/node-http";
import { JsonTraceSerializer, TraceExporterMetricsHelper } from "@opentelemetry/otlp-transformer";
import {
  detectResources,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
  serviceNameEnvDetector,
} from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import type { FastifyBaseLogger } from "fastify";
import { ATTR_REQUEST_ID } from "./attributes.ts";
import { createTracingInterceptor } from "./connect-tracing.ts";
import { createHttpServerSpans } from "./http-server-span.ts";
import type { EdgeTracing } from "./observability.ts";
import { otlpJsonOf } from "./otlp-json.ts";
import { REQUEST_ID_CONTEXT_KEY } from "./request-trace.ts";
import type { SamplerSettings, TracingSettings } from "./tracing-settings.ts";

/** A started SDK. */
export interface Tracing extends EdgeTracing {
  /** Where the SDK's own warnings (failed exports) go once the app's logger exists. */
  useLogger(log: FastifyBaseLogger): void;
  /** Exports what is buffered, then stops. */
  shutdown(): Promise<void>;
}

/** Starts tracing. Call it before anything loads Fastify. */
export function startTracing(settings: TracingSettings): Tracing {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  const provider = createTracerProvider(settings);
  trace.setGlobalTracerProvider(provider);
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [upstreamInstrumentation()],
  });
  const serverSpans = createHttpServerSpans();
  return {
    interceptors: [createTracingInterceptor()],
    onRequest: serverSpans.start,
    onResponseEnd: serverSpans.end,
    useLogger(log) {
      const warn = (message: string, ...args: unknown[]) =>
        log.warn(args.length === 0 ? {} : { args }, `opentelemetry: ${message}`);
      const ignore = () => {};
      diag.setLogger(
        { error: warn, warn, info: ignore, debug: ignore, verbose: ignore },
        { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
      );
    },
    async shutdown() {
      unregister();
      await provider.shutdown();
    },
  };
}

/**
 * OTLP/HTTP JSON export, as the SDK's OTLPTraceExporter does it (same transport, retries, timeouts, env variables
 * and headers) but with the JSON written by ./otlp-json.ts.
 */
function createExporter(settings: TracingSettings): SpanExporter {
  const options = convertLegacyHttpOptions(
    {
      ...(settings.url === undefined ? {} : { url: settings.url }),
      ...(settings.headers === undefined ? {} : { headers: { ...settings.headers } }),
    },
    "TRACES",
    "v1/traces",
    { "Content-Type": "application/json" },
  );
  const serializer = {
    serializeRequest: (spans: ReadableSpan[]) => Buffer.from(otlpJsonOf(spans)),
    deserializeResponse: JsonTraceSerializer.deserializeResponse,
  };
  return new OTLPExporterBase(
    createOtlpHttpExportDelegate(
      options,
      serializer,
      "otlp_http_span_exporter",
      TraceExporterMetricsHelper,
      undefined,
    ),
  );
}

/** The provider: resource (service.name; OTEL_RESOURCE_ATTRIBUTES), sampler, batch OTLP/HTTP export. */
function createTracerProvider(settings: TracingSettings): TracerProvider {
  const exporter = createExporter(settings);
  const configuredName = settings.serviceName === undefined ? {} : { "service.name": settings.serviceName };
  return new TracerProvider({
    resource: resourceFromAttributes({ "service.name": "llm-proxy" })
      .merge(detectResources({ detectors: [resourceAttributesEnvDetector, serviceNameEnvDetector] }))
      .merge(resourceFromAttributes(configuredName)),
    sampler: toSampler(settings.sampler),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        ...(settings.exportDelayMs === undefined ? {} : { scheduledDelayMillis: settings.exportDelayMs }),
      }),
    ],
  });
}

/** The client span of each upstream call (made inside an attempt span), with the request id. */
function upstreamInstrumentation(): UndiciInstrumentation {
  return new UndiciInstrumentation({
    requireParentforSpans: true,
    startSpanHook: () => {
      const requestId = context.active().getValue(REQUEST_ID_CONTEXT_KEY);
      return typeof requestId === "string" ? { [ATTR_REQUEST_ID]: requestId } : {};
    },
  });
}

function toSampler(settings: SamplerSettings): Sampler {
  const root =
    settings.root === "always_on"
      ? new AlwaysOnSampler()
      : settings.root === "always_off"
        ? new AlwaysOffSampler()
        : new TraceIdRatioBasedSampler(settings.ratio);
  return settings.parentBased ? new ParentBasedSampler({ root }) : root;
}
