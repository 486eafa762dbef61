/**
 * `server.workers > 1`: the primary process forks that many workers, which all serve the one port (both
 * protocols: the cluster module shares the listening socket). The primary serves no traffic. It restarts a
 * worker that dies, watches the config file and turns SIGHUP or a worker's successful POST /config/reload into
 * a reload of every worker, and on SIGTERM/SIGINT asks every worker to drain, then exits 0 when all have.
 */
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import { watchConfigFile } from "../admin/watch.ts";
import { asWorkerMessage, type PrimaryMessage } from "./messages.ts";
import { createPrimaryCounters } from "./primary-counters.ts";
import { closeUndeliveredConnectionsOf } from "./undelivered-connections.ts";

/** A worker that dies sooner than this after its start is restarted after a pause, not at once. */
const CRASH_LOOP_WINDOW_MS = 5_000;
const CRASH_LOOP_PAUSE_MS = 1_000;

/** What the primary needs. */
export interface PrimaryOptions {
  readonly workers: number;
  readonly configPath: string;
  readonly watchConfig: boolean;
  readonly log: Logger;
}

/** Runs the primary until every worker has exited after a shutdown. */
export async function runPrimary(options: PrimaryOptions): Promise<void> {
  const { log } = options;
  const startedAt = new Map<number, number>();
  let stopping = false;
  // Per-key limits hold across the workers: their counters live here (./primary-counters.ts).
  const limits = createPrimaryCounters();
  const fork = (): void => {
    const worker = cluster.fork();
    closeUndeliveredConnectionsOf(worker);
    limits.attach(worker);
    startedAt.set(worker.id, Date.now());
    worker.on("message", (message: unknown) => {
      if (asWorkerMessage(message) !== undefined) broadcast({ type: "llm-proxy:reload" }, worker);
    });
  };
  const broadcast = (message: PrimaryMessage, except?: Worker): void => {
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker !== undefined && worker !== except && worker.isConnected()) worker.send(message);
    }
  };

  cluster.on("exit", (worker, code, signal) => {
    limits.release(worker);
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) finish();
      return;
    }
    log.error({ workerPid: worker.process.pid, code, signal }, "worker died; starting a new one");
    if (lived < CRASH_LOOP_WINDOW_MS) setTimeout(fork, CRASH_LOOP_PAUSE_MS);
    else fork();
  });

  for (let count = 0; count < options.workers; count++) fork();
  log.info({ workers: options.workers, primaryPid: process.pid }, "llm-proxy primary started its workers");

  const watch = options.watchConfig
    ? await watchConfigFile(options.configPath, async () => broadcast({ type: "llm-proxy:reload" }), { log })
    : undefined;
  process.on("SIGHUP", () => broadcast({ type: "llm-proxy:reload" }));

  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    watch?.close();
    log.info({ signal }, "primary shutting down: workers drain and exit");
    // A message rather than a signal: a terminal's Ctrl-C already signalled the workers, and a second signal
    // would cut their drain short.
    broadcast({ type: "llm-proxy:shutdown" });
    if (Object.keys(cluster.workers ?? {}).length === 0) finish();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  await finished;
  log.info("all workers exited");
}
