/**
 * LimitCounters of a cluster worker (`server.workers > 1`): the counters live in the primary
 * (src/cluster/primary-counters.ts); each admit is one IPC round trip matched by id, each settle one message.
 * Budgets are seeded by the worker, which has the spend log: the first admit of a key in a budget period carries
 * what the log says the key spent so far in it, and the primary uses the first seed it gets for that period.
 */
import {
  asLimitAdmitted,
  type LimitAdmitMessage,
  type LimitSettleMessage,
} from "../cluster/limit-messages.ts";
import { budgetPeriodAt, DEFAULT_BUDGET_PERIOD } from "./budget-period.ts";
import type { Admission, LimitCounters, LimitedKey, Spent } from "./counters.ts";
import type { SpentSince } from "./memory-counters.ts";

/** The IPC channel to the primary (the worker's `process`). */
export interface PrimaryChannel {
  send(message: LimitAdmitMessage | LimitSettleMessage, callback: (error: Error | null) => void): boolean;
  on(event: "message", listener: (message: unknown) => void): unknown;
  off(event: "message", listener: (message: unknown) => void): unknown;
  readonly connected: boolean;
}

export interface ClusterCountersOptions {
  readonly channel: PrimaryChannel;
  readonly spentSince?: SpentSince;
  readonly onSeedError?: (keyId: string, error: unknown) => void;
}

/** An admit the primary did not answer because the channel is gone: served unchecked rather than refused. */
const UNCHECKED_TICKET = "unchecked";
const UNCHECKED: Admission = { admitted: true, ticket: UNCHECKED_TICKET, state: {} };

export class ClusterLimitCounters implements LimitCounters {
  private readonly channel: PrimaryChannel;
  private readonly options: ClusterCountersOptions;
  private readonly waiting = new Map<number, (admission: Admission) => void>();
  /** `${keyId}|${period}` of the budget periods this worker has sent a seed for. */
  private readonly seeded = new Set<string>();
  private nextId = 0;
  /** Messages handed to the channel and not yet written; close() waits for them, so no settle is lost. */
  private sending = 0;
  private drained: (() => void) | undefined;
  private readonly onMessage = (raw: unknown): void => {
    const answer = asLimitAdmitted(raw);
    if (answer === undefined) return;
    const resolve = this.waiting.get(answer.id);
    if (resolve === undefined) return;
    this.waiting.delete(answer.id);
    const { admission } = answer;
    resolve(
      admission.admitted
        ? admission
        : { ...admission, retryAfterSeconds: admission.retryAfterSeconds ?? undefined },
    );
  };

  constructor(options: ClusterCountersOptions) {
    this.options = options;
    this.channel = options.channel;
    this.channel.on("message", this.onMessage);
  }

  admit(key: LimitedKey, nowMs: number): Promise<Admission> {
    const seedKey = this.unseededPeriod(key, nowMs);
    if (seedKey === undefined) return this.ask(key, nowMs, undefined);
    const spentSince = this.options.spentSince;
    if (spentSince === undefined) {
      this.seeded.add(seedKey.id);
      return this.ask(key, nowMs, undefined);
    }
    return spentSince(key.id, new Date(seedKey.start).toISOString()).then(
      (usd) => {
        this.seeded.add(seedKey.id);
        return this.ask(key, nowMs, usd);
      },
      (error: unknown) => {
        this.options.onSeedError?.(key.id, error);
        return this.ask(key, nowMs, undefined);
      },
    );
  }

  settle(key: LimitedKey, ticket: string, spent: Spent, nowMs: number): void {
    if (ticket === UNCHECKED_TICKET) return;
    this.send({
      type: "llm-proxy:limit-settle",
      key: { id: key.id, limits: key.limits },
      ticket,
      tokens: Math.max(0, spent.tokens),
      costUsd: Math.max(0, spent.costUsd),
      nowMs,
    });
  }

  async close(): Promise<void> {
    if (this.sending > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.channel.off("message", this.onMessage);
    for (const resolve of this.waiting.values()) resolve(UNCHECKED);
    this.waiting.clear();
  }

  private ask(key: LimitedKey, nowMs: number, seedUsd: number | undefined): Promise<Admission> {
    if (!this.channel.connected) return Promise.resolve(UNCHECKED);
    const id = this.nextId++;
    return new Promise<Admission>((resolve) => {
      this.waiting.set(id, resolve);
      const message: LimitAdmitMessage = {
        type: "llm-proxy:limit-admit",
        id,
        key: { id: key.id, limits: key.limits },
        nowMs,
      };
      this.send(seedUsd === undefined ? message : { ...message, seedUsd }, () => {
        this.waiting.delete(id);
        resolve(UNCHECKED);
      });
    });
  }

  private send(message: LimitAdmitMessage | LimitSettleMessage, failed?: () => void): void {
    if (!this.channel.connected) {
      failed?.();
      return;
    }
    this.sending++;
    this.channel.send(message, (error) => {
      this.sending--;
      if (error !== null) failed?.();
      if (this.sending === 0) this.drained?.();
    });
  }

  /** The budget period of `key` at `nowMs` when this worker has not seeded it yet. */
  private unseededPeriod(key: LimitedKey, nowMs: number): { id: string; start: number } | undefined {
    if (key.limits.budget_usd === undefined) return undefined;
    const period = key.limits.budget_period ?? DEFAULT_BUDGET_PERIOD;
    const { start } = budgetPeriodAt(period, nowMs);
    const id = `${key.id}|${period}:${start}`;
    return this.seeded.has(id) ? undefined : { id, start };
  }
}

/** This worker's IPC channel to the primary. */
export function primaryChannel(): PrimaryChannel {
  return {
    send: (message, callback) => process.send?.(message, undefined, {}, callback) ?? false,
    on: (event, listener) => process.on(event, listener),
    off: (event, listener) => process.off(event, listener),
    get connected() {
      return process.connected;
    },
  };
}
