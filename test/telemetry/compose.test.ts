/**
 * compose.yaml (no container engine runs here): the proxy is built from this repo's Dockerfile and its OTEL_*
 * variables alone turn tracing on towards the Jaeger service, which receives OTLP/HTTP on 4318 and serves its UI on
 * 16686.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfig } from "../../src/config/load.ts";
import { resolveTracingSettings } from "../../src/telemetry/tracing-settings.ts";

interface ComposeService {
  readonly build?: string;
  readonly image?: string;
  readonly ports?: string[];
  readonly environment?: Record<string, string>;
  readonly depends_on?: string[];
}

const compose = parse(readFileSync("compose.yaml", "utf8")) as { services: Record<string, ComposeService> };

describe("compose.yaml", () => {
  it("runs the proxy from the Dockerfile, tracing to Jaeger all-in-one over OTLP/HTTP", () => {
    const proxy = compose.services["llm-proxy"];
    const jaeger = compose.services.jaeger;
    expect(proxy?.build).toBe(".");
    expect(proxy?.ports).toContain("9000:9000");
    expect(proxy?.depends_on).toContain("jaeger");
    expect(jaeger?.image).toMatch(/^jaegertracing\/all-in-one:\d+\.\d+\.\d+$/);
    expect(jaeger?.ports).toEqual(expect.arrayContaining(["16686:16686", "4318:4318"]));

    const exampleConfig = parseConfig(readFileSync("config/config.example.yaml", "utf8"), "example");
    const settings = resolveTracingSettings(exampleConfig.telemetry, { ...proxy?.environment });
    expect(settings).toMatchObject({
      serviceName: "llm-proxy",
      sampler: { root: "always_on", parentBased: true },
    });
    expect(proxy?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://jaeger:4318");
  });
});
