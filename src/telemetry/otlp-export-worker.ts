/**
 * The span export worker: turns span records (./span-record.ts) into OTLP/HTTP JSON (./otlp-json.ts) and sends
 * them with the SDK's own OTLP HTTP export delegate (its transport, retries, timeouts, OTEL_EXPORTER_OTLP_*
 * variables and headers), off the thread that serves requests. At 100 % sampling the JSON and the export request
 * were about a fifth of a traced request's CPU on that thread. Started by ./worker-span-exporter.ts, which is the
 * protocol's other end; the SDK's warnings (failed exports) go back to it as `log` messages.
 */
import { parentPort, workerData } from "node:worker_threads";
import { DiagLogLevel, diag } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { OTLPExporterBase } from "@opentelemetry/otlp-exporter-base";
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from "@opentelemetry/otlp-exporter-base/node-http";
import { type IExporterMetricsHelper, JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { otlpJsonOf } from "./otlp-json.ts";
import { decodeSpans, type ResourceRecord, type SpanRecord } from "./span-record.ts";

/** What the worker is started with. */
export interface ExportWorkerData {
  /** The OTLP/HTTP traces URL; undefined lets the exporter read OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT. */
  readonly url: string | undefined;
  /** Extra export headers; undefined lets the exporter read OTEL_EXPORTER_OTLP_(TRACES_)HEADERS. */
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly resource: ResourceRecord;
}

/** Requests to the worker; each is answered by one `done` with the same id. */
export type ToExportWorker =
  | { readonly type: "export"; readonly id: number; readonly spans: unknown[] }
  | { readonly type: "flush"; readonly id: number }
  | { readonly type: "shutdown"; readonly id: number };

/** Messages from the worker. */
export type FromExportWorker =
  | { readonly type: "done"; readonly id: number; readonly ok: boolean; readonly error?: string }
  | { readonly type: "log"; readonly message: string };

const SPAN_COUNT: IExporterMetricsHelper<SpanRecord[]> = {
  name: "span",
  countItems: (records) => records.length,
};

function startWorker(port: NonNullable<typeof parentPort>, data: ExportWorkerData): void {
  const send = (message: FromExportWorker): void => port.postMessage(message);
  const forward = (message: string, ...args: unknown[]): void =>
    send({ type: "log", message: args.length === 0 ? message : `${message} ${args.map(String).join(" ")}` });
  const ignore = (): void => {};
  diag.setLogger(
    { error: forward, warn: forward, info: ignore, debug: ignore, verbose: ignore },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  const options = convertLegacyHttpOptions(
    {
      ...(data.url === undefined ? {} : { url: data.url }),
      ...(data.headers === undefined ? {} : { headers: { ...data.headers } }),
    },
    "TRACES",
    "v1/traces",
    { "Content-Type": "application/json" },
  );
  const serializer = {
    serializeRequest: (records: SpanRecord[]) => Buffer.from(otlpJsonOf(data.resource, records)),
    deserializeResponse: JsonTraceSerializer.deserializeResponse,
  };
  const exporter = new OTLPExporterBase(
    createOtlpHttpExportDelegate(options, serializer, "otlp_http_span_exporter", SPAN_COUNT, undefined),
  );
  const settle = (id: number, work: Promise<void>): void => {
    work.then(
      () => send({ type: "done", id, ok: true }),
      (error: unknown) => send({ type: "done", id, ok: false, error: String(error) }),
    );
  };
  port.on("message", (message: ToExportWorker) => {
    switch (message.type) {
      case "export":
        exporter.export(decodeSpans(message.spans), (result) =>
          send({
            type: "done",
            id: message.id,
            ok: result.code === ExportResultCode.SUCCESS,
            ...(result.error === undefined ? {} : { error: result.error.message }),
          }),
        );
        break;
      case "flush":
        settle(message.id, exporter.forceFlush());
        break;
      case "shutdown":
        settle(message.id, exporter.shutdown());
        break;
    }
  });
}

if (parentPort !== null) startWorker(parentPort, workerData as ExportWorkerData);
