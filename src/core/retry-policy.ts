/**
 * How long to wait before the next attempt: the upstream's retry-after when it gave one, else exponential
 * backoff with jitter, as the official OpenAI and Anthropic SDKs do (0.5 s × 2^attempt, capped at 8 s,
 * × a factor in (0.75, 1]).
 * @see docs/wire-formats.md#what-the-official-sdks-do
 */
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;
/**
 * The longest the gateway itself waits on a retry-after. The failure policy already moves on when the vendor asks
 * for more than proxy.max_retry_wait; the client is still told the vendor's whole value.
 */
const MAX_RETRY_AFTER_WAIT_MS = 60_000;

/** Delay before retry number `attempt` (0 for the first retry). */
export function retryDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, MAX_RETRY_AFTER_WAIT_MS);
  const backoff = Math.min(BASE_DELAY_MS * 2 ** attempt, MAX_DELAY_MS);
  return backoff * (1 - 0.25 * random());
}
