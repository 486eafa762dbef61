/**
 * OpenAI's rate-limit headers, written on every answer of a key with rpm or tpm limits (HTTP headers, and the
 * same names as response metadata on RPCs): `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`. Resets are
 * durations the way OpenAI writes them (Go's duration format): `20ms`, `1s`, `6m0s`, `1h0m0s`.
 */
import type { LimitState, LimitWindow } from "./counters.ts";

/** A duration in seconds as OpenAI writes a reset: whole milliseconds below a second, else h/m/s parts. */
export function formatReset(seconds: number): string {
  const totalMs = Math.max(0, Math.ceil(seconds * 1000));
  if (totalMs === 0) return "0s";
  if (totalMs < 1000) return `${totalMs}ms`;
  const hours = Math.floor(totalMs / 3_600_000);
  const minutes = Math.floor((totalMs % 3_600_000) / 60_000);
  const ms = totalMs % 60_000;
  // Seconds keep up to three decimals without trailing zeros (`1.5s`, `59.25s`), as Go prints them.
  const secondsText = ms % 1000 === 0 ? String(ms / 1000) : (ms / 1000).toFixed(3).replace(/0+$/, "");
  if (hours > 0) return `${hours}h${minutes}m${secondsText}s`;
  return minutes > 0 ? `${minutes}m${secondsText}s` : `${secondsText}s`;
}

/** Sets the headers of `state` through `set` (a Fastify reply's `header`). */
export function writeLimitHeaders(state: LimitState, set: (name: string, value: string) => void): void {
  if (state.requests !== undefined) writeWindow("requests", state.requests, set);
  if (state.tokens !== undefined) writeWindow("tokens", state.tokens, set);
}

function writeWindow(
  unit: "requests" | "tokens",
  window: LimitWindow,
  set: (name: string, value: string) => void,
): void {
  set(`x-ratelimit-limit-${unit}`, String(window.limit));
  set(`x-ratelimit-remaining-${unit}`, String(window.remaining));
  set(`x-ratelimit-reset-${unit}`, formatReset(window.resetSeconds));
}
