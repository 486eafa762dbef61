/**
 * Where the per-key counters live: rpm and tpm windows, in-flight slots and budget spend. One interface, several
 * homes: this process's memory (one worker), the cluster primary over IPC (`server.workers > 1`), Redis (many
 * replicas). Each check-and-count is atomic in its home, so N workers or replicas enforce the limit, not N × it.
 */
import type { KeyLimits } from "./limits.ts";

/** A key as the counters see it: its stable id (`file:<name>` for file keys, the store's id otherwise). */
export interface LimitedKey {
  readonly id: string;
  readonly limits: KeyLimits;
}

/** One limit's state, for OpenAI's `x-ratelimit-*` headers. */
export interface LimitWindow {
  readonly limit: number;
  readonly remaining: number;
  /**
   * Seconds until the window is back to its full limit (OpenAI's `x-ratelimit-reset-*` meaning; 0 when nothing is
   * counted). When to retry a refused request is Admission's `retryAfterSeconds`.
   */
  readonly resetSeconds: number;
}

/** What the counters know after a check, for the headers of a limited key's answer. */
export interface LimitState {
  readonly requests?: LimitWindow;
  readonly tokens?: LimitWindow;
}

export type Admission =
  | {
      readonly admitted: true;
      /** Pass back to settle(): names the in-flight slot taken, if max_parallel is set. */
      readonly ticket: string;
      readonly state: LimitState;
    }
  | {
      readonly admitted: false;
      /** `rate_limit_exceeded` (rpm, tpm, max_parallel) or `budget_exceeded`. */
      readonly code: "rate_limit_exceeded" | "budget_exceeded";
      /** Which limit refused, for the message (`rpm`, `tpm`, `max_parallel`, `budget_usd`). */
      readonly limit: "rpm" | "tpm" | "max_parallel" | "budget_usd";
      /** Seconds to wait; undefined for a `total` budget (waiting will not help). */
      readonly retryAfterSeconds: number | undefined;
      readonly state: LimitState;
    };

/** What a finished request used, charged to its key. */
export interface Spent {
  /** Input + output tokens (for tpm). */
  readonly tokens: number;
  /** USD; 0 when the model has no price. */
  readonly costUsd: number;
}

/** The counters of every limited key. */
export interface LimitCounters {
  /**
   * Checks every limit the key has and, when all pass, counts the request (rpm) and takes a slot (max_parallel),
   * in one atomic step. A refused request counts nothing.
   */
  admit(key: LimitedKey, nowMs: number): Promise<Admission>;
  /**
   * admit() answered at once, when the counters can (in this process's memory, with nothing to read first);
   * undefined when they cannot, and the caller awaits admit(). Optional: remote counters have no such answer.
   */
  admitNow?(key: LimitedKey, nowMs: number): Admission | undefined;
  /**
   * The admitted request is over (any ending: success, error, timeout, disconnect, shutdown): frees its slot and
   * charges what it used. Called exactly once per admission; never throws, never blocks the caller.
   */
  settle(key: LimitedKey, ticket: string, spent: Spent, nowMs: number): void;
  /** Stops timers and connections. */
  close(): Promise<void>;
}
