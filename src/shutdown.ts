/**
 * Graceful shutdown on SIGTERM/SIGINT: stop accepting at once (app.close() closes the listener, GOAWAYs h2
 * sessions and turns readiness to NOT_SERVING), let in-flight requests, SSE streams and RPCs finish for up to
 * `server.drain_timeout`, then end the rest with a "shutting down" error (an SSE error event, gRPC UNAVAILABLE,
 * HTTP 503), destroy what is still open, release the runtime and exit 0. A second signal skips the wait.
 */
import { setMaxListeners } from "node:events";
import type { FastifyInstance } from "fastify";
import { ProxyError } from "./core/errors.ts";

/** How long ended calls get to write their error before their connections are destroyed. */
const FORCE_GRACE_MS = 1_000;
/** How often keep-alive connections that went idle during the drain are closed. */
const IDLE_SWEEP_MS = 100;

/** What the shutdown needs from the process entry. */
export interface ShutdownOptions {
  readonly app: FastifyInstance;
  readonly drainTimeoutMs: number;
  /**
   * Aborted with {@link shuttingDownError} when the drain timeout runs out; both edges listen to its signal
   * (buildServer's `shutdownSignal`) and end their remaining calls.
   */
  readonly drain: AbortController;
  /** Runs once the server is closed: release the runtime, flush telemetry. */
  readonly release: () => Promise<void>;
  readonly exit: (code: number) => void;
}

/** The controller whose signal buildServer's `shutdownSignal` gets; every in-flight call listens to it. */
export function createDrainController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** What clients of calls cut off by the drain timeout see: retryable (another replica will serve them). */
export function shuttingDownError(): ProxyError {
  return new ProxyError("overloaded", "The gateway is shutting down; retry the request.", {
    code: "shutting_down",
  });
}

/**
 * Installs the SIGTERM/SIGINT handlers. Returns a function that starts the same shutdown without a signal
 * (the cluster primary's request); unlike a second signal, it never cuts a running drain short.
 */
export function handleShutdownSignals(options: ShutdownOptions): () => void {
  const hurry = new AbortController();
  let running: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (running !== undefined) {
      options.app.log.warn({ signal }, "second signal: ending in-flight requests now");
      hurry.abort();
      return;
    }
    running = shutDown(options, signal, hurry.signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return () => {
    running ??= shutDown(options, "primary request", hurry.signal);
  };
}

/** The shutdown sequence; `hurry` aborting ends the drain early. Exported for tests. */
export async function shutDown(options: ShutdownOptions, signal: string, hurry: AbortSignal): Promise<void> {
  const { app, drain } = options;
  const started = performance.now();
  app.log.info(
    { signal, drainTimeoutMs: options.drainTimeoutMs },
    "shutting down: draining in-flight requests",
  );
  const closed = app.close().then(
    () => true,
    (error: unknown) => {
      app.log.error({ err: error }, "error while closing the server");
      return true;
    },
  );
  // HTTP/1.1 keep-alive connections whose last response ends during the drain would otherwise stay open (and
  // hold close() up) until their keep-alive timeout.
  const sweep = setInterval(() => closeIdleConnections(app), IDLE_SWEEP_MS);
  try {
    if (!(await within(closed, options.drainTimeoutMs, hurry))) {
      app.log.warn("drain timeout: ending the remaining requests");
      drain.abort(shuttingDownError());
      if (!(await within(closed, FORCE_GRACE_MS))) {
        closeAllConnections(app);
        if (!(await within(closed, FORCE_GRACE_MS))) app.log.warn("connections still open; exiting anyway");
      }
    }
  } finally {
    clearInterval(sweep);
  }
  try {
    await options.release();
  } catch (error) {
    app.log.error({ err: error }, "error while releasing the runtime");
  }
  app.log.info({ durationMs: Math.round(performance.now() - started) }, "shutdown complete");
  options.exit(0);
}

/** Whether `done` resolved within `ms` (false early when `cancel` aborts). */
async function within(done: Promise<boolean>, ms: number, cancel?: AbortSignal): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  let onCancel: (() => void) | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    onCancel = () => resolve(false);
    if (cancel?.aborted === true) resolve(false);
    cancel?.addEventListener("abort", onCancel, { once: true });
  });
  try {
    return await Promise.race([done, expired]);
  } finally {
    clearTimeout(timer);
    if (onCancel !== undefined) cancel?.removeEventListener("abort", onCancel);
  }
}

/** The listening server's connection helpers; an http2 (TLS) server has neither. */
interface ConnectionCloser {
  closeIdleConnections?: () => void;
  closeAllConnections?: () => void;
}

function closeIdleConnections(app: FastifyInstance): void {
  (app.server as ConnectionCloser).closeIdleConnections?.();
}

function closeAllConnections(app: FastifyInstance): void {
  (app.server as ConnectionCloser).closeAllConnections?.();
}
