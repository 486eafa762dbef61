/** When tracing is on and with what settings: the `telemetry` config section first, then the OTEL_* variables. */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.ts";
import { parseConfig } from "../../src/config/load.ts";
import { resolveTracingSettings } from "../../src/telemetry/tracing-settings.ts";

function telemetryOf(yaml: string) {
  return parseConfig(`model_config: {echo-1: echo}\n${yaml}`, "t.yaml").telemetry;
}

const NONE = telemetryOf("");

describe("resolveTracingSettings", () => {
  it("is off when neither the config nor an OTLP endpoint variable asks for it", () => {
    expect(resolveTracingSettings(NONE, {})).toBeUndefined();
    expect(
      resolveTracingSettings(NONE, { OTEL_SERVICE_NAME: "x", OTEL_TRACES_SAMPLER: "always_on" }),
    ).toBeUndefined();
  });

  it("turns on from the config's endpoint, appending the traces path like OTEL_EXPORTER_OTLP_ENDPOINT", () => {
    const settings = resolveTracingSettings(
      telemetryOf(
        "telemetry: {endpoint: 'http://jaeger:4318/', service_name: gw, sample_ratio: 0.25, headers: {x-team: a}}",
      ),
      { OTEL_SERVICE_NAME: "ignored" },
    );
    expect(settings).toEqual({
      url: "http://jaeger:4318/v1/traces",
      headers: { "x-team": "a" },
      serviceName: "gw",
      sampler: { root: "traceidratio", parentBased: true, ratio: 0.25 },
      batch: {},
    });
  });

  it("turns on from OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and leaves the URL to the exporter", () => {
    for (const name of ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]) {
      const settings = resolveTracingSettings(NONE, {
        [name]: "http://collector:4318",
        OTEL_SERVICE_NAME: "svc",
      });
      expect(settings).toMatchObject({
        url: undefined,
        serviceName: "svc",
        sampler: { root: "always_on", parentBased: true },
      });
    }
  });

  it("enabled: true traces to the default endpoint; enabled: false wins over every variable", () => {
    expect(resolveTracingSettings(telemetryOf("telemetry: {enabled: true}"), {})).toMatchObject({
      url: undefined,
    });
    const off = telemetryOf("telemetry: {enabled: false, endpoint: 'http://a:4318'}");
    expect(resolveTracingSettings(off, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://b:4318" })).toBeUndefined();
  });

  it("honours OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(resolveTracingSettings(NONE, { ...endpoint, OTEL_SDK_DISABLED: "true" })).toBeUndefined();
    expect(resolveTracingSettings(NONE, { ...endpoint, OTEL_TRACES_EXPORTER: "none" })).toBeUndefined();
  });

  it("reads the standard samplers and the batch delay, and rejects bad values by name", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(
      resolveTracingSettings(NONE, {
        ...endpoint,
        OTEL_TRACES_SAMPLER: "traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "0.1",
        OTEL_BSP_SCHEDULE_DELAY: "200",
      }),
    ).toMatchObject({
      sampler: { root: "traceidratio", parentBased: false, ratio: 0.1 },
      batch: { scheduledDelayMillis: 200 },
    });
    expect(
      resolveTracingSettings(NONE, { ...endpoint, OTEL_TRACES_SAMPLER: "parentbased_always_off" }),
    ).toMatchObject({ sampler: { root: "always_off", parentBased: true } });
    expect(() => resolveTracingSettings(NONE, { ...endpoint, OTEL_TRACES_SAMPLER: "sometimes" })).toThrow(
      /OTEL_TRACES_SAMPLER/,
    );
    expect(() =>
      resolveTracingSettings(NONE, {
        ...endpoint,
        OTEL_TRACES_SAMPLER: "traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "2",
      }),
    ).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
  });

  it("reads every OTEL_BSP_* variable into the batch span processor's options, and rejects bad values by name", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(
      resolveTracingSettings(NONE, {
        ...endpoint,
        OTEL_BSP_SCHEDULE_DELAY: "0",
        OTEL_BSP_MAX_QUEUE_SIZE: "8192",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "1024",
        OTEL_BSP_EXPORT_TIMEOUT: "10000",
      })?.batch,
    ).toEqual({
      scheduledDelayMillis: 0,
      maxQueueSize: 8192,
      maxExportBatchSize: 1024,
      exportTimeoutMillis: 10000,
    });
    for (const [name, value] of [
      ["OTEL_BSP_SCHEDULE_DELAY", "-1"],
      ["OTEL_BSP_MAX_QUEUE_SIZE", "0"],
      ["OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "many"],
      ["OTEL_BSP_EXPORT_TIMEOUT", "1.5"],
    ] as const) {
      expect(() => resolveTracingSettings(NONE, { ...endpoint, [name]: value })).toThrow(
        new RegExp(`^${name}:`),
      );
    }
  });

  it("the config section is validated with YAML paths", () => {
    expect(() => telemetryOf("telemetry: {endpoint: 'jaeger:4318'}")).toThrow(ConfigError);
    expect(() => telemetryOf("telemetry: {sample_ratio: 2}")).toThrow(/telemetry\.sample_ratio/);
    expect(() => telemetryOf("telemetry: {exporter: zipkin}")).toThrow(/telemetry/);
  });
});
