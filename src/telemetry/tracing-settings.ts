/**
 * Whether to trace, and how: the `telemetry` config section first, then the standard OTEL_* variables. Tracing is
 * off unless something asks for it (`telemetry.enabled: true`, `telemetry.endpoint`, or an OTLP endpoint
 * variable); then the SDK is loaded, and not before. No OpenTelemetry SDK code is imported here. The exporter reads
 * its own OTEL_EXPORTER_OTLP_* variables; the batch span processor of the SDK's 3.x line reads none, so the
 * OTEL_BSP_* ones are read here.
 * @see https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 */
import type { Config } from "../config/config.ts";

/** A sampler, as named by OTEL_TRACES_SAMPLER. */
export interface SamplerSettings {
  readonly root: "always_on" | "always_off" | "traceidratio";
  /** Respect the caller's sampling decision (the parentbased_* samplers). */
  readonly parentBased: boolean;
  /** For traceidratio: the share of new traces kept, 0 to 1. */
  readonly ratio: number;
}

/** Everything the SDK is started with. */
export interface TracingSettings {
  /** The OTLP/HTTP traces URL; undefined lets the exporter read OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT. */
  readonly url: string | undefined;
  /** Extra export headers; undefined lets the exporter read OTEL_EXPORTER_OTLP_(TRACES_)HEADERS. */
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** service.name; undefined keeps OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, else `llm-proxy`. */
  readonly serviceName: string | undefined;
  readonly sampler: SamplerSettings;
  /** The batch span processor's settings that OTEL_BSP_* variables set; the SDK's defaults for the others. */
  readonly batch: BatchSettings;
}

/** The batch span processor's settings, in its own option names. */
export interface BatchSettings {
  /** Milliseconds between exports (OTEL_BSP_SCHEDULE_DELAY; SDK default 5000). */
  readonly scheduledDelayMillis?: number;
  /** Spans buffered before new ones are dropped (OTEL_BSP_MAX_QUEUE_SIZE; SDK default 2048). */
  readonly maxQueueSize?: number;
  /** Spans per export request (OTEL_BSP_MAX_EXPORT_BATCH_SIZE; SDK default 512). */
  readonly maxExportBatchSize?: number;
  /** Milliseconds an export may take (OTEL_BSP_EXPORT_TIMEOUT; SDK default 30000). */
  readonly exportTimeoutMillis?: number;
}

const BATCH_VARIABLES = {
  scheduledDelayMillis: "OTEL_BSP_SCHEDULE_DELAY",
  maxQueueSize: "OTEL_BSP_MAX_QUEUE_SIZE",
  maxExportBatchSize: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
  exportTimeoutMillis: "OTEL_BSP_EXPORT_TIMEOUT",
} as const satisfies Record<keyof BatchSettings, string>;

const SAMPLERS: Readonly<Record<string, Omit<SamplerSettings, "ratio">>> = {
  always_on: { root: "always_on", parentBased: false },
  always_off: { root: "always_off", parentBased: false },
  traceidratio: { root: "traceidratio", parentBased: false },
  parentbased_always_on: { root: "always_on", parentBased: true },
  parentbased_always_off: { root: "always_off", parentBased: true },
  parentbased_traceidratio: { root: "traceidratio", parentBased: true },
};

/** The settings, or undefined when tracing is off. Throws an Error naming the variable on a bad value. */
export function resolveTracingSettings(
  telemetry: Config["telemetry"],
  env: NodeJS.ProcessEnv,
): TracingSettings | undefined {
  if (!isTracingOn(telemetry, env)) return undefined;
  return {
    url: telemetry.endpoint === undefined ? undefined : `${telemetry.endpoint.replace(/\/+$/, "")}/v1/traces`,
    headers: telemetry.headers,
    serviceName: telemetry.serviceName ?? nonEmpty(env.OTEL_SERVICE_NAME),
    sampler:
      telemetry.sampleRatio === undefined
        ? samplerFromEnv(env)
        : { root: "traceidratio", parentBased: true, ratio: telemetry.sampleRatio },
    batch: batchFromEnv(env),
  };
}

function isTracingOn(telemetry: Config["telemetry"], env: NodeJS.ProcessEnv): boolean {
  if (telemetry.enabled !== undefined) return telemetry.enabled;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === "none") return false;
  return (
    telemetry.endpoint !== undefined ||
    nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT) !== undefined ||
    nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) !== undefined
  );
}

function samplerFromEnv(env: NodeJS.ProcessEnv): SamplerSettings {
  const name = nonEmpty(env.OTEL_TRACES_SAMPLER)?.toLowerCase() ?? "parentbased_always_on";
  const sampler = SAMPLERS[name];
  if (sampler === undefined) {
    throw new Error(
      `OTEL_TRACES_SAMPLER: unknown sampler '${name}'; use one of ${Object.keys(SAMPLERS).join(", ")}`,
    );
  }
  const argument = nonEmpty(env.OTEL_TRACES_SAMPLER_ARG);
  const ratio = argument === undefined ? 1 : Number(argument);
  if (sampler.root === "traceidratio" && !(ratio >= 0 && ratio <= 1)) {
    throw new Error(`OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1, got '${argument}'`);
  }
  return { ...sampler, ratio };
}

function batchFromEnv(env: NodeJS.ProcessEnv): BatchSettings {
  const batch: { -readonly [Key in keyof BatchSettings]: number } = {};
  for (const [key, name] of Object.entries(BATCH_VARIABLES) as [keyof BatchSettings, string][]) {
    const raw = nonEmpty(env[name]);
    if (raw === undefined) continue;
    const value = Number(raw);
    // A queue or batch of 0 spans, or a timeout of 0, would drop or fail every export.
    const least = key === "scheduledDelayMillis" ? 0 : 1;
    if (!Number.isInteger(value) || value < least) {
      throw new Error(`${name}: expected a whole number of at least ${least}, got '${raw}'`);
    }
    batch[key] = value;
  }
  return batch;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}
