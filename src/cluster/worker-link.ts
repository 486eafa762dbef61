/**
 * The worker side of `server.workers > 1`: obey the primary's reload and shutdown messages, and tell the
 * primary when POST /config/reload succeeded here so that every other worker reloads too.
 */
import cluster from "node:cluster";
import type { FastifyBaseLogger } from "fastify";
import type { ConfigReloader } from "../admin/reloader.ts";
import { asPrimaryMessage, type WorkerMessage } from "./messages.ts";

/** Whether this process is a cluster worker. */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/** A reloader whose successful API reloads are announced to the primary. */
export function announcingReloader(reloader: ConfigReloader): ConfigReloader {
  return {
    get path() {
      return reloader.path;
    },
    get loadedAt() {
      return reloader.loadedAt;
    },
    get reloads() {
      return reloader.reloads;
    },
    async reload(trigger, content) {
      const outcome = await reloader.reload(trigger, content);
      if (trigger === "api" && outcome.status === "reloaded") {
        const message: WorkerMessage = { type: "llm-proxy:reloaded" };
        process.send?.(message);
      }
      return outcome;
    },
  };
}

/** Listens to the primary. `shutdown` starts the drain (a no-op when one is already running). */
export function followPrimary(reloader: ConfigReloader, shutdown: () => void, log: FastifyBaseLogger): void {
  process.on("message", (raw: unknown) => {
    const message = asPrimaryMessage(raw);
    if (message === undefined) return;
    if (message.type === "llm-proxy:shutdown") shutdown();
    else
      void reloader
        .reload("cluster")
        .then((outcome) => log.info({ status: outcome.status }, "cluster reload"));
  });
}
