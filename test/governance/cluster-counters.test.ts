/**
 * The cluster's limit counters without processes: two workers' ClusterLimitCounters and the primary's counters
 * joined by in-memory channels that serialise each message to JSON on a later turn, as the IPC channel does.
 */

import type { Worker } from "node:cluster";
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { createPrimaryCounters, type PrimaryCounters } from "../../src/cluster/primary-counters.ts";
import { ClusterLimitCounters, type PrimaryChannel } from "../../src/governance/cluster-counters.ts";
import type { LimitedKey } from "../../src/governance/counters.ts";
import type { SpentSince } from "../../src/governance/memory-counters.ts";

const T0 = Date.UTC(2026, 2, 11, 10, 0, 0);

/** One worker: the primary's view of it (a cluster Worker) and its own channel to the primary. */
interface FakeWorker {
  readonly worker: Worker;
  readonly channel: PrimaryChannel;
  /** Delivers a raw message to the worker, as if the primary sent it. */
  toWorker(message: unknown): void;
  /** Delivers a raw message to the primary, as if the worker sent it. */
  toPrimary(message: unknown): void;
}

let nextWorkerId = 1;

function fakeWorker(): FakeWorker {
  const atPrimary = new EventEmitter();
  const atWorker = new EventEmitter();
  const later = (target: EventEmitter, message: unknown) =>
    setImmediate(() => target.emit("message", JSON.parse(JSON.stringify(message))));
  const worker = Object.assign(atPrimary, {
    id: nextWorkerId++,
    isConnected: () => true,
    send: (message: unknown) => {
      later(atWorker, message);
      return true;
    },
  }) as unknown as Worker;
  const channel: PrimaryChannel = {
    send: (message, callback) => {
      later(atPrimary, message);
      setImmediate(() => callback(null));
      return true;
    },
    on: (event, listener) => atWorker.on(event, listener),
    off: (event, listener) => atWorker.off(event, listener),
    connected: true,
  };
  return {
    worker,
    channel,
    toWorker: (message) => later(atWorker, message),
    toPrimary: (message) => later(atPrimary, message),
  };
}

function cluster(spentSince?: SpentSince): {
  primary: PrimaryCounters;
  workers: [FakeWorker, FakeWorker];
  counters: [ClusterLimitCounters, ClusterLimitCounters];
} {
  const primary = createPrimaryCounters();
  const workers: [FakeWorker, FakeWorker] = [fakeWorker(), fakeWorker()];
  for (const { worker } of workers) primary.attach(worker);
  const counters: [ClusterLimitCounters, ClusterLimitCounters] = [
    new ClusterLimitCounters({ channel: workers[0].channel, spentSince }),
    new ClusterLimitCounters({ channel: workers[1].channel, spentSince }),
  ];
  return { primary, workers, counters };
}

describe("ClusterLimitCounters with the primary's counters", () => {
  it("counts one rpm window for both workers", async () => {
    const { counters } = cluster();
    const key: LimitedKey = { id: "file:team", limits: { rpm: 3 } };
    const answers = await Promise.all([
      counters[0].admit(key, T0),
      counters[1].admit(key, T0),
      counters[0].admit(key, T0),
      counters[1].admit(key, T0),
    ]);
    expect(answers.filter((answer) => answer.admitted)).toHaveLength(3);
    expect(answers.find((answer) => !answer.admitted)).toMatchObject({
      code: "rate_limit_exceeded",
      limit: "rpm",
      retryAfterSeconds: 60,
      state: { requests: { limit: 3, remaining: 0 } },
    });
  });

  it("frees a slot when its worker settles, and every slot of a worker that died", async () => {
    const { primary, workers, counters } = cluster();
    const key: LimitedKey = { id: "file:two", limits: { max_parallel: 2 } };
    const a = await counters[0].admit(key, T0);
    const b = await counters[1].admit(key, T0);
    expect(a.admitted && b.admitted).toBe(true);
    expect((await counters[1].admit(key, T0)).admitted).toBe(false);
    if (b.admitted) counters[1].settle(key, b.ticket, { tokens: 5, costUsd: 0 }, T0);
    await counters[1].close();
    // The settle was written before close() returned.
    expect((await counters[0].admit(key, T0)).admitted).toBe(true);
    expect((await counters[0].admit(key, T0)).admitted).toBe(false);
    // Worker 0 holds both slots; once it is gone a new worker admits two again.
    primary.release(workers[0].worker);
    const replacement = fakeWorker();
    primary.attach(replacement.worker);
    const fresh = new ClusterLimitCounters({ channel: replacement.channel });
    expect((await fresh.admit(key, T0)).admitted).toBe(true);
    expect((await fresh.admit(key, T0)).admitted).toBe(true);
    expect((await fresh.admit(key, T0)).admitted).toBe(false);
  });

  it("seeds a budget from the worker's spend log, and a total budget's refusal has no retry-after", async () => {
    const asked: string[] = [];
    const { counters } = cluster(async (keyId, from) => {
      asked.push(`${keyId}@${from}`);
      return 2;
    });
    const key: LimitedKey = { id: "vk_1", limits: { budget_usd: 2, budget_period: "total" } };
    const refused = await counters[0].admit(key, T0);
    expect(refused).toMatchObject({ admitted: false, code: "budget_exceeded", retryAfterSeconds: undefined });
    expect(asked).toEqual(["vk_1@1970-01-01T00:00:00.000Z"]);
    await counters[0].admit(key, T0);
    expect(asked).toHaveLength(1);
  });

  it("ignores messages that are not well-formed limit messages, both ways", async () => {
    const { workers, counters } = cluster();
    const key: LimitedKey = { id: "file:team", limits: { rpm: 1 } };
    workers[0].toPrimary({ type: "llm-proxy:limit-admit", id: -1, key, nowMs: T0 });
    workers[0].toPrimary({ type: "llm-proxy:limit-settle", key: { id: "" }, ticket: "1" });
    workers[0].toPrimary({ type: "llm-proxy:reloaded" });
    // An answer with the id of the next admit but a malformed admission must not resolve it.
    workers[0].toWorker({ type: "llm-proxy:limit-admitted", id: 0, admission: { admitted: "yes" } });
    const answer = await counters[0].admit(key, T0);
    expect(answer).toMatchObject({ admitted: true, state: { requests: { limit: 1, remaining: 0 } } });
    expect((await counters[1].admit(key, T0)).admitted).toBe(false);
  });
});
