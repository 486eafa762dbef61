/**
 * Starts the OpenTelemetry trace SDK (3.x line): a tracer provider with a batch OTLP/HTTP (JSON) exporter, the
 * AsyncLocalStorage context manager, W3C trace-context + baggage propagation, and the http (server side) and undici
 * instrumentations. Imported dynamically, and only when tracing is configured, so that with tracing off no SDK
 * package is ever loaded; and before Fastify loads, since the http instrumentation patches node:http when it is
 * required (platform-notes §5). No metric or log exporters, no resource detectors beyond the OTEL_* variables
 * (nothing probes cloud metadata services).
 * @see https://github.com/open-telemetry/opentelemetry-js/tree/main/packages/opentelemetry-sdk-trace
 */
import { context, DiagLogLevel, diag, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  CompositePropagator,
  getRPCMetadata,
  RPCType,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { UndiciInstrumentation } from "@opentelemetry/instrumentation-undici";
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
import type { FastifyBaseLogger, FastifyRequest } from "fastify";
import { ATTR_REQUEST_ID } from "./attributes.ts";
import { createTracingInterceptor } from "./connect-tracing.ts";
import type { EdgeTracing } from "./observability.ts";
import type { RequestRecord } from "./request-record.ts";
import { REQUEST_ID_CONTEXT_KEY } from "./request-trace.ts";
import type { SamplerSettings, TracingSettings } from "./tracing-settings.ts";

/** A started SDK. */
export interface Tracing extends EdgeTracing {
  /** Where the SDK's own warnings (failed exports) go once the app's logger exists. */
  useLogger(log: FastifyBaseLogger): void;
  /** Exports what is buffered, then stops. */
  shutdown(): Promise<void>;
}

/** Paths not worth a trace: scrapes and probes. */
const UNTRACED_PATHS: ReadonlySet<string> = new Set(["/metrics", "/health", "/ready"]);

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
    instrumentations: instrumentations(),
  });
  return {
    interceptors: [createTracingInterceptor()],
    onRequest: tagHttpServerSpan,
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

/** The provider: resource (service.name; OTEL_RESOURCE_ATTRIBUTES), sampler, batch OTLP/HTTP export. */
function createTracerProvider(settings: TracingSettings): TracerProvider {
  const exporter = new OTLPTraceExporter({
    ...(settings.url === undefined ? {} : { url: settings.url }),
    ...(settings.headers === undefined ? {} : { headers: { ...settings.headers } }),
  });
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

function instrumentations(): [HttpInstrumentation, UndiciInstrumentation] {
  return [
    new HttpInstrumentation({
      // Upstream calls go through undici; only the OTLP exporter uses node:http as a client.
      disableOutgoingRequestInstrumentation: true,
      ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? "").split("?")[0] ?? ""),
    }),
    new UndiciInstrumentation({
      // Only upstream calls made inside an attempt span; the request id joins the span to the logs.
      requireParentforSpans: true,
      startSpanHook: () => {
        const requestId = context.active().getValue(REQUEST_ID_CONTEXT_KEY);
        return typeof requestId === "string" ? { [ATTR_REQUEST_ID]: requestId } : {};
      },
    }),
  ];
}

/**
 * Inside the http instrumentation's server span (HTTP/1.1 requests): name it after the matched route, as a
 * Fastify instrumentation would (`POST /v1/chat/completions`), and tag it with the request id.
 */
function tagHttpServerSpan(request: FastifyRequest, record: RequestRecord): void {
  const active = context.active();
  const span = trace.getSpan(active);
  if (span === undefined) return;
  span.setAttribute(ATTR_REQUEST_ID, request.id);
  const metadata = getRPCMetadata(active);
  const route = request.routeOptions.url;
  if (metadata?.type === RPCType.HTTP && route !== undefined) metadata.route = route;
  if (span.isRecording()) record.traceId = span.spanContext().traceId;
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
