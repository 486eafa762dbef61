/**
 * The worker-thread span exporter on its own: a batch reaches a real OTLP/HTTP receiver with the export headers, the
 * SDK's callback reports the outcome (success, or failure with the worker's error), flush and shutdown settle, and a
 * stopped exporter fails fast instead of queueing.
 */
import { createServer } from "node:net";
import { type DiagLogger, DiagLogLevel, diag } from "@opentelemetry/api";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { afterEach, describe, expect, it } from "vitest";
import { toResourceRecord } from "../../src/telemetry/span-record.ts";
import { WorkerSpanExporter } from "../../src/telemetry/worker-span-exporter.ts";
import { startOtlpReceiver } from "./otlp-receiver.ts";

const RESOURCE = resourceFromAttributes({ "service.name": "worker-export-test" });

function finishedSpans(count: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: RESOURCE,
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  const tracer = provider.getTracer("llm-proxy");
  for (let i = 0; i < count; i++)
    tracer.startSpan(`span ${i}`, { attributes: { "request.id": `rid-${i}` } }).end();
  return memory.getFinishedSpans();
}

function exportOnce(exporter: WorkerSpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

const warnings: string[] = [];
const captureDiag = (): void => {
  const keep = (message: string): void => {
    warnings.push(message);
  };
  const ignore = (): void => {};
  const logger: DiagLogger = { error: keep, warn: keep, info: ignore, debug: ignore, verbose: ignore };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
};

afterEach(() => {
  delete process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT;
  diag.disable();
  warnings.length = 0;
});

describe("WorkerSpanExporter", () => {
  it("sends a batch from its worker to an OTLP/HTTP receiver, with the configured headers", async () => {
    const receiver = await startOtlpReceiver();
    const exporter = new WorkerSpanExporter({
      url: `${receiver.endpoint}/v1/traces`,
      headers: { "x-tenant": "t1" },
      resource: toResourceRecord(RESOURCE),
    });
    try {
      const result = await exportOnce(exporter, finishedSpans(3));
      expect(result.code).toBe(ExportResultCode.SUCCESS);
      expect(receiver.spans.map((span) => span.name)).toEqual(["span 0", "span 1", "span 2"]);
      expect(receiver.spans[2]?.attributes["request.id"]).toBe("rid-2");
      expect(receiver.spans[0]?.serviceName).toBe("worker-export-test");
      expect(receiver.exports[0]?.["x-tenant"]).toBe("t1");
      await exporter.forceFlush();
    } finally {
      await exporter.shutdown();
      await receiver.close();
    }
  });

  it("reports a failed export to the SDK with the worker's error; once shut down, it fails at once", async () => {
    captureDiag();
    // The export delegate retries a refused connection until its timeout; the worker reads it from its env copy.
    process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = "300";
    const exporter = new WorkerSpanExporter({
      url: `http://127.0.0.1:${await closedPort()}/v1/traces`,
      headers: undefined,
      resource: toResourceRecord(RESOURCE),
    });
    const result = await exportOnce(exporter, finishedSpans(1));
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toMatch(/ECONNREFUSED|connect/i);
    await exporter.shutdown();
    // Shutting the worker down is not reported as the worker dying.
    expect(warnings.join("\n")).not.toMatch(/exited/);
    const late = await exportOnce(exporter, finishedSpans(1));
    expect(late.code).toBe(ExportResultCode.FAILED);
  });
});
