/**
 * The SDK's span exporter, as seen by the BatchSpanProcessor: copies each batch into one flat array
 * (./span-record.ts) and hands it to the export worker (./otlp-export-worker.ts), which writes the JSON and sends
 * it. The batch's result callback fires when the worker has sent it (or failed to), as with the SDK's own
 * exporter. The worker holds the process open only while a call is pending; if it dies, every later batch fails
 * at once (logged) rather than queueing forever.
 */
import { Worker } from "node:worker_threads";
import { diag } from "@opentelemetry/api";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";
import type { ExportWorkerData, FromExportWorker, ToExportWorker } from "./otlp-export-worker.ts";
import { encodeSpans } from "./span-record.ts";

type Pending = (ok: boolean, error: string | undefined) => void;

/** A request before it gets its id. */
type Request = {
  [Type in ToExportWorker["type"]]: Omit<Extract<ToExportWorker, { type: Type }>, "id">;
}[ToExportWorker["type"]];

export class WorkerSpanExporter implements SpanExporter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  /** Reused by every export: postMessage copies it before `encodeSpans` can write it again. */
  readonly #scratch: unknown[] = [];
  #nextId = 0;
  #dead: string | undefined;
  #closing = false;

  constructor(data: ExportWorkerData) {
    this.#worker = new Worker(new URL("./otlp-export-worker.ts", import.meta.url), { workerData: data });
    this.#worker.unref();
    this.#worker.on("message", (message: FromExportWorker) => {
      if (message.type === "log") {
        diag.warn(message.message);
        return;
      }
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (this.#pending.size === 0) this.#worker.unref();
      pending?.(message.ok, message.error);
    });
    this.#worker.on("error", (error) => this.#die(`span export worker failed: ${error.message}`));
    this.#worker.on("exit", (code) => {
      if (!this.#closing) this.#die(`span export worker exited (code ${code})`);
    });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.#call({ type: "export", spans: encodeSpans(spans, this.#scratch) }, (ok, error) =>
      resultCallback(
        ok
          ? { code: ExportResultCode.SUCCESS }
          : { code: ExportResultCode.FAILED, error: new Error(error ?? "span export failed") },
      ),
    );
  }

  forceFlush(): Promise<void> {
    return this.#settled({ type: "flush" });
  }

  async shutdown(): Promise<void> {
    await this.#settled({ type: "shutdown" });
    this.#closing = true;
    this.#dead = "the span exporter is shut down";
    await this.#worker.terminate();
  }

  #settled(request: Request): Promise<void> {
    return new Promise((resolve) => {
      this.#call(request, (ok, error) => {
        if (!ok && error !== undefined) diag.warn(`span export ${request.type}: ${error}`);
        resolve();
      });
    });
  }

  #call(request: Request, done: Pending): void {
    if (this.#dead !== undefined) {
      done(false, this.#dead);
      return;
    }
    const id = this.#nextId++;
    if (this.#pending.size === 0) this.#worker.ref();
    this.#pending.set(id, done);
    this.#worker.postMessage({ ...request, id } satisfies ToExportWorker);
  }

  #die(reason: string): void {
    if (this.#dead !== undefined) return;
    this.#dead = reason;
    diag.error(reason);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const done of pending) done(false, reason);
  }
}
