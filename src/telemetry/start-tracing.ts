/**
 * Starts the OpenTelemetry trace SDK (3.x line): a tracer provider whose BatchSpanProcessor hands finished spans to
 * the official OTLP/HTTP (JSON) exporter (@opentelemetry/exporter-trace-otlp-http, which reads the
 * OTEL_EXPORTER_OTLP_* variables itself), W3C trace-context + baggage propagation (the attempt span, which is the
 * upstream client span, sends `traceparent` to the vendor: ./upstream-call.ts), and the two spans the SDK's
 * instrumentations do not give here: the HTTP server span (./http-server-span.ts; the http instrumentation does
 * not see Fastify's requests over h2c, and bound every request's event emitters) and the RPC span (./rpc-span.ts:
 * Connect's interceptor and the gRPC fast lane's hook). Imported dynamically, and only when tracing is configured,
 * so that with tracing off no SDK package is ever loaded. No metric or log exporters, no resource detectors
 * beyond the OTEL_* variables (nothing probes cloud metadata services). No context manager either: every span
 * starts under a context the gateway hands on explicitly (the request's record, the core's observer, the adapter's
 * call context). With the AsyncLocalStorage one, a traced request's context could stay with what it created (its
 * keep-alive upstream sockets), for the later requests on them.
 * @see https://github.com/open-telemetry/opentelemetry-js/tree/main/packages/opentelemetry-sdk-trace
 * @see https://github.com/open-telemetry/opentelemetry-js/tree/main/experimental/packages/exporter-trace-otlp-http
 */
import { DiagLogLevel, diag, propagation, trace } from "@opentelemetry/api";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
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
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import type { FastifyBaseLogger } from "fastify";
import { createTracingInterceptor } from "./connect-tracing.ts";
import { createHttpServerSpans } from "./http-server-span.ts";
import type { EdgeTracing } from "./observability.ts";
import { startFastLaneSpan } from "./rpc-span.ts";
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
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  const provider = createTracerProvider(settings);
  trace.setGlobalTracerProvider(provider);
  return {
    ...createEdgeTracing(),
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
      await provider.shutdown();
    },
  };
}

/** The edges' spans, from the global tracer provider (tests register an in-memory one). */
export function createEdgeTracing(): EdgeTracing {
  const serverSpans = createHttpServerSpans();
  return {
    interceptors: [createTracingInterceptor()],
    startFastLaneSpan,
    onRequest: serverSpans.start,
    onResponseEnd: serverSpans.end,
  };
}

/** The provider: resource (service.name; OTEL_RESOURCE_ATTRIBUTES), sampler, batch OTLP/HTTP export. */
function createTracerProvider(settings: TracingSettings): TracerProvider {
  const configuredName = settings.serviceName === undefined ? {} : { "service.name": settings.serviceName };
  const resource = resourceFromAttributes({ "service.name": "llm-proxy" })
    .merge(detectResources({ detectors: [resourceAttributesEnvDetector, serviceNameEnvDetector] }))
    .merge(resourceFromAttributes(configuredName));
  // Only what the config sets: the exporter falls back to OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT / _HEADERS itself.
  const exporter = new OTLPTraceExporter({
    ...(settings.url === undefined ? {} : { url: settings.url }),
    ...(settings.headers === undefined ? {} : { headers: { ...settings.headers } }),
  });
  return new TracerProvider({
    resource,
    sampler: toSampler(settings.sampler),
    spanProcessors: [new BatchSpanProcessor({ exporter, ...settings.batch })],
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
