/**
 * The spend-log writer: a completion listener (src/telemetry/observability.ts) that turns each finished model call
 * into a SpendRow and queues it, and writes the queue to the store in batches, off the request path. The embedded
 * store is synchronous (`node:sqlite`), so one transaction per batch rather than per request keeps its cost out of
 * the requests' latency; PostgreSQL gets fewer round trips the same way.
 *
 * Rows are flushed a second after the first one queued, or as soon as a batch is full, and on close. When the store
 * fails (a PostgreSQL outage), the rows stay queued and are retried on the next flush; past the bound of the queue
 * new rows are dropped and counted (`llm_proxy_spend_rows_dropped_total`), with a warning at most every 10 s.
 * Nothing here ever blocks or fails a request.
 */
import type { FastifyBaseLogger, FastifyRequest } from "fastify";
import { principalOf } from "../auth/auth-hook.ts";
import type { RequestRecord } from "../telemetry/request-record.ts";
import type { SpendLog, SpendRow } from "./store.ts";
import { warningPace } from "./warning-pace.ts";

/** Tuning; the defaults suit both stores. */
export interface SpendWriterOptions {
  readonly spend: Pick<SpendLog, "append">;
  readonly log: Pick<FastifyBaseLogger, "warn">;
  /** How long the first queued row waits for others before the batch is written. Default 1000 ms. */
  readonly flushIntervalMs?: number;
  /** Rows written in one transaction; a full batch is written at once. Default 1000. */
  readonly batchRows?: number;
  /** Rows kept while the store fails; further rows are dropped and counted. Default 100,000. */
  readonly maxQueuedRows?: number;
  /** Wall clock, for the rows' time (tests). */
  readonly now?: () => number;
}

/** At most one warning per this many milliseconds about drops, and one about store failures. */
const WARN_EVERY_MS = 10_000;

export class SpendWriter {
  readonly #spend: Pick<SpendLog, "append">;
  readonly #log: Pick<FastifyBaseLogger, "warn">;
  readonly #intervalMs: number;
  readonly #batchRows: number;
  readonly #maxQueued: number;
  readonly #now: () => number;
  #queue: SpendRow[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** The armed timer is a full batch's (fires at once), not the interval's. */
  #timerImmediate = false;
  /** The last batch write: each waits for the one before, so one batch is written at a time, in order. */
  #chain: Promise<unknown> = Promise.resolve();
  #dropped = 0;
  #droppedSinceWarning = 0;
  readonly #timeToWarnOfDrops = warningPace(WARN_EVERY_MS);
  readonly #timeToWarnOfFailure = warningPace(WARN_EVERY_MS);

  constructor(options: SpendWriterOptions) {
    this.#spend = options.spend;
    this.#log = options.log;
    this.#intervalMs = options.flushIntervalMs ?? 1000;
    this.#batchRows = options.batchRows ?? 1000;
    this.#maxQueued = options.maxQueuedRows ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** The completion listener: queues the request's row if it called a model. Never throws. */
  readonly completion = (request: FastifyRequest, record: RequestRecord, outcome: string): void => {
    // Requests refused before any upstream attempt (bad input, auth, limits) used nothing: no row.
    if (!record.modelCall || record.attempts === 0) return;
    this.add(spendRowOf(request, record, outcome, this.#now()));
  };

  /** Rows dropped since start because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Rows waiting to be written. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queues one row. */
  add(row: SpendRow): void {
    if (this.#queue.length >= this.#maxQueued) {
      this.#drop(1);
      return;
    }
    this.#queue.push(row);
    if (this.#queue.length >= this.#batchRows) this.#schedule(0);
    else this.#schedule(this.#intervalMs);
  }

  /** Writes everything queued (in batches); resolves when done or when the store failed (rows kept). */
  async flush(): Promise<void> {
    this.#clearTimer();
    do {
      if (!(await this.#writeBatch())) return;
    } while (this.#queue.length > 0);
  }

  /** Writes what is left (the app is closing; the store closes after). */
  async close(): Promise<void> {
    await this.flush();
    this.#clearTimer();
    if (this.#queue.length > 0) {
      this.#log.warn(
        { rows: this.#queue.length },
        "spend log: rows not written at shutdown (the store failed)",
      );
    }
  }

  /**
   * Arms the flush timer to fire within `ms` (sooner wins; an armed one is left alone otherwise, so a busy
   * gateway does not re-arm a timer per request); unref'd, so it never holds the process.
   */
  #schedule(ms: number): void {
    if (this.#timer !== undefined) {
      if (ms > 0 || this.#timerImmediate) return;
      clearTimeout(this.#timer);
    }
    this.#timerImmediate = ms === 0;
    this.#timer = setTimeout(this.#onTimer, ms);
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerImmediate = false;
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerImmediate = false;
    void this.#writeBatch().then((written) => {
      // A full batch waiting goes next, after a turn of the event loop; fewer rows wait for the interval (as
      // they would have: writing each trickle at once would be a transaction per few requests); after a
      // failure, the retry waits for the interval too.
      if (this.#queue.length === 0) return;
      this.#schedule(written && this.#queue.length >= this.#batchRows ? 0 : this.#intervalMs);
    });
  };

  /** Writes the oldest batch once the previous write is over; true unless the store failed. Never rejects. */
  #writeBatch(): Promise<boolean> {
    const run = this.#chain.then(() => this.#writeOldest());
    this.#chain = run;
    return run;
  }

  async #writeOldest(): Promise<boolean> {
    if (this.#queue.length === 0) return true;
    const batch = this.#queue.length <= this.#batchRows ? this.#queue : this.#queue.slice(0, this.#batchRows);
    this.#queue = batch === this.#queue ? [] : this.#queue.slice(batch.length);
    try {
      await this.#spend.append(batch);
      return true;
    } catch (error) {
      this.#requeue(batch, error);
      return false;
    }
  }

  /** The store failed: the batch goes back in front, as much of it as the bound allows. */
  #requeue(batch: readonly SpendRow[], error: unknown): void {
    const room = Math.max(0, this.#maxQueued - this.#queue.length);
    const kept = batch.length <= room ? batch : batch.slice(batch.length - room);
    this.#queue = kept.length === 0 ? this.#queue : [...kept, ...this.#queue];
    if (kept.length < batch.length) this.#drop(batch.length - kept.length);
    if (this.#timeToWarnOfFailure()) {
      this.#log.warn(
        { err: error, queued: this.#queue.length },
        "spend log: the store failed to write a batch; its rows stay queued and are retried",
      );
    }
  }

  #drop(rows: number): void {
    this.#dropped += rows;
    this.#droppedSinceWarning += rows;
    if (!this.#timeToWarnOfDrops()) return;
    this.#log.warn(
      { dropped: this.#droppedSinceWarning, maxQueued: this.#maxQueued },
      "spend log: queue full (the store is failing or too slow); rows dropped",
    );
    this.#droppedSinceWarning = 0;
  }
}

/** A finished model call's row: who, what, how much, how long. Never content. */
export function spendRowOf(
  request: FastifyRequest,
  record: RequestRecord,
  outcome: string,
  wallNow: number,
): SpendRow {
  const principal = principalOf(request);
  const elapsed = performance.now() - record.arrivedAt;
  const used = record.inputTokens !== undefined;
  return {
    // Arrival on the wall clock, from now minus the monotonic time since (immune to clock steps in between).
    time: new Date(wallNow - elapsed).toISOString(),
    requestId: record.requestId,
    keyId: principal?.id,
    keyName: principal?.name,
    api: record.api ?? "other",
    model: record.model,
    provider: record.provider,
    upstreamModel: record.upstreamModel,
    status: outcome,
    inputTokens: record.inputTokens ?? 0,
    cachedTokens: record.cachedTokens ?? 0,
    outputTokens: record.outputTokens ?? 0,
    // Nothing used costs nothing, priced or not; usage on an unpriced model costs an unknown amount.
    costUsd: used ? (record.costUsd ?? null) : 0,
    estimated: record.usageEstimated,
    latencyMs: round(elapsed),
    ttftMs: record.firstByteAt === undefined ? undefined : round(record.firstByteAt - record.arrivedAt),
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
