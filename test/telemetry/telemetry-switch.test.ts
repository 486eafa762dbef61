/**
 * Tracing is off at no cost unless asked for, and the standard OTEL_* variables alone can turn it on:
 * - nothing configured: the process never loads an OpenTelemetry SDK module (only the API, whose no-op tracer the
 *   core calls), yet access lines, the overhead header and /metrics work. The same process logs to
 *   `server.log_file` (its folder created), not stdout; rotation is the platform's: after the file is renamed,
 *   SIGUSR2 reopens the configured path;
 * - OTEL_EXPORTER_OTLP_ENDPOINT + OTEL_SERVICE_NAME + a parent-based ratio-0 sampler: a caller's sampled trace is
 *   exported under that service name, a request without `traceparent` is not.
 */
import { mkdtempSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type GatewayProcess, readJsonLines, startGateway } from "./gateway-process.ts";
import { type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver.ts";

const ECHO_ONLY = "model_config: {echo-1: echo}\nserver: {watch_config: false, log_level: info}\n";

let gateway: GatewayProcess | undefined;
let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  gateway?.kill();
  await receiver?.close();
  gateway = undefined;
  receiver = undefined;
});

function chat(url: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "hello" }], stream: true }),
  });
}

async function waitForAccessLine(file: string, requestId: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const line = readJsonLines(file).find(
      (entry) => entry.requestId === requestId && entry.msg === "request completed",
    );
    if (line !== undefined) return line;
    if (Date.now() > deadline) throw new Error(`no access line for ${requestId} in ${file}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("turning tracing on and off", () => {
  it("nothing configured: no SDK module loaded; metrics, access lines and the log file work", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "llm-proxy-logs-")), "nested", "proxy.log");
    gateway = await startGateway(
      ECHO_ONLY.replace("watch_config: false", `watch_config: false, log_file: "${file}"`),
      { OTEL_SERVICE_NAME: "not-enough-to-trace" },
      file,
    );
    const response = await chat(gateway.url, { "x-request-id": "rid-off" });
    expect(await response.text()).toContain("[DONE]");
    expect(Number(response.headers.get("x-llm-proxy-overhead-ms"))).toBeGreaterThanOrEqual(0);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(
      /llm_proxy_requests_total\{api="chat",protocol="http",model="echo-1",provider="echo",outcome="ok"\} 1/,
    );
    const access = await waitForAccessLine(file, "rid-off");
    expect(access).toMatchObject({ api: "chat", protocol: "http", outcome: "ok", stream: true });
    expect(access.traceId).toBeUndefined();

    renameSync(file, `${file}.1`);
    gateway.signal("SIGUSR2");
    await new Promise((resolve) => setTimeout(resolve, 100));
    await (await chat(gateway.url, { "x-request-id": "rid-after-rotation" })).text();
    await waitForAccessLine(file, "rid-after-rotation");

    const { code, modules } = await gateway.stop();
    expect(code).toBe(0);
    expect(modules).toEqual(["@opentelemetry/api"]);
    expect(gateway.logs).toEqual([]);
    expect(readJsonLines(`${file}.1`).some((line) => line.requestId === "rid-after-rotation")).toBe(false);
    // The lines written while exiting reach the file too.
    const current = readJsonLines(file);
    expect(current.some((line) => String(line.msg).startsWith("shutting down"))).toBe(true);
    expect(String(current.at(-1)?.msg)).toMatch(/shut/);
  });

  it("OTEL_* variables alone: endpoint, service name and a parent-based sampler", async () => {
    receiver = await startOtlpReceiver();
    gateway = await startGateway(ECHO_ONLY, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_SERVICE_NAME: "proxy-from-env",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0",
    });
    const sampledTrace = "5bf92f3577b34da6a3ce929d0e0e4736";
    await (await chat(gateway.url, { "x-request-id": "rid-unsampled" })).text();
    await (await chat(gateway.url, { traceparent: `00-${sampledTrace}-00f067aa0ba902b7-01` })).text();
    const { code } = await gateway.stop();
    expect(code).toBe(0);
    expect(receiver.spans.length).toBeGreaterThanOrEqual(3);
    expect(new Set(receiver.spans.map((span) => span.traceId))).toEqual(new Set([sampledTrace]));
    expect(new Set(receiver.spans.map((span) => span.serviceName))).toEqual(new Set(["proxy-from-env"]));
    expect(receiver.spans.some((span) => span.attributes["request.id"] === "rid-unsampled")).toBe(false);
  });
});
