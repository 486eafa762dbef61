/**
 * The primary's side of per-key limits with `server.workers > 1`: one set of in-memory counters for every worker,
 * so N workers enforce a key's limits, not N × them. Workers admit and settle over IPC
 * (src/governance/cluster-counters.ts). The primary remembers which worker holds each admitted request, so that a
 * worker that dies gives back its max_parallel slots at once instead of holding them forever.
 */
import type { Worker } from "node:cluster";
import type { Admission, LimitedKey } from "../governance/counters.ts";
import { MemoryLimitCounters } from "../governance/memory-counters.ts";
import { asLimitWorkerMessage, type LimitAdmittedMessage } from "./limit-messages.ts";

export interface PrimaryCounters {
  /** Serves a new worker's limit messages. */
  attach(worker: Worker): void;
  /** The worker is gone: frees the slots of the requests it held. */
  release(worker: Worker): void;
}

/** Counters the primary serves to its workers. */
export function createPrimaryCounters(counters = new MemoryLimitCounters()): PrimaryCounters {
  // Per worker, its admitted requests not settled yet: ticket → key.
  const held = new Map<number, Map<string, LimitedKey>>();

  return {
    attach(worker) {
      const tickets = new Map<string, LimitedKey>();
      held.set(worker.id, tickets);
      worker.on("message", (raw: unknown) => {
        const message = asLimitWorkerMessage(raw);
        if (message === undefined) return;
        if (message.type === "llm-proxy:limit-settle") {
          tickets.delete(message.ticket);
          counters.settle(
            message.key,
            message.ticket,
            { tokens: message.tokens, costUsd: message.costUsd },
            message.nowMs,
          );
          return;
        }
        const admission = counters.admitSeeded(message.key, message.nowMs, message.seedUsd);
        if (admission.admitted) tickets.set(admission.ticket, message.key);
        if (worker.isConnected()) worker.send(answerOf(message.id, admission));
      });
    },
    release(worker) {
      const tickets = held.get(worker.id);
      held.delete(worker.id);
      if (tickets === undefined) return;
      const now = Date.now();
      for (const [ticket, key] of tickets) counters.settle(key, ticket, { tokens: 0, costUsd: 0 }, now);
    },
  };
}

function answerOf(id: number, admission: Admission): LimitAdmittedMessage {
  return {
    type: "llm-proxy:limit-admitted",
    id,
    admission: admission.admitted
      ? admission
      : { ...admission, retryAfterSeconds: admission.retryAfterSeconds ?? null },
  };
}
