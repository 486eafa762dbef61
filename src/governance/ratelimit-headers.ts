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
  const secondsText = ms % 1000 === 0 ? String(ms / 1000) : withMilliseconds(ms);
  if (hours > 0) return `${hours}h${minutes}m${secondsText}s`;
  return minutes > 0 ? `${minutes}m${secondsText}s` : `${secondsText}s`;
}

/** Seconds with up to three decimals and no trailing zeros (`1.5`, `59.25`), as Go prints them. */
function withMilliseconds(ms: number): string {
  let fraction = ms % 1000;
  let digits = 3;
  while (fraction % 10 === 0) {
    fraction /= 10;
    digits--;
  }
  return `${Math.floor(ms / 1000)}.${String(fraction).padStart(digits, "0")}`;
}

/** The three header names of each unit, built once. */
const NAMES = {
  requests: ["x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"],
  tokens: ["x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"],
} as const;

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
  const [limit, remaining, reset] = NAMES[unit];
  set(limit, String(window.limit));
  set(remaining, String(window.remaining));
  set(reset, formatReset(window.resetSeconds));
}
