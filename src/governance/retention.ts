/**
 * `store.retention_days`: spend-log rows older than that are deleted at start and then every hour. Each worker
 * runs it; deleting what another worker already deleted costs one indexed range scan.
 */
import type { SpendLog } from "./store.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

interface RetentionLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/** Starts pruning; the returned stop() ends it. The timer never keeps the process alive. */
export function startRetention(spend: SpendLog, days: number, log: RetentionLog): { stop: () => void } {
  const prune = async (): Promise<void> => {
    const before = new Date(Date.now() - days * DAY_MS).toISOString();
    try {
      const deleted = await spend.prune(before);
      if (deleted > 0) log.info({ deleted, before }, "spend log pruned (store.retention_days)");
    } catch (error) {
      log.warn({ err: error, before }, "spend log pruning failed; retried in an hour");
    }
  };
  void prune();
  const timer = setInterval(() => void prune(), HOUR_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
