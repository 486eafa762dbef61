/**
 * A request's cost in USD from its usage and its model's prices (per million tokens): uncached input at `input`,
 * cache reads at `cached_input`, cache writes at `cache_write_input` (both default `input`), output at `output`.
 * The usage is counted as OpenAI counts it (src/core/types.ts Usage): cache reads and writes are parts of the
 * prompt tokens, so the uncached part is what is left of them.
 */
import type { Usage } from "../core/types.ts";
import type { ModelPrice } from "./prices.ts";

/** The cost in USD; undefined when the model has no price. */
export function costOf(price: ModelPrice | undefined, usage: Usage): number | undefined {
  if (price === undefined) return undefined;
  const cached = usage.cachedTokens ?? 0;
  const written = usage.cacheWriteTokens ?? 0;
  const uncached = Math.max(0, usage.promptTokens - cached - written);
  const micro =
    uncached * price.input +
    cached * (price.cached_input ?? price.input) +
    written * (price.cache_write_input ?? price.input) +
    usage.completionTokens * price.output;
  // Rounded to 1e-10 USD: float noise (0.30000000000000004) stays out of logs and headers, and a cheap model's
  // single token (1e-8 at $0.01 per million) keeps its value.
  return Math.round(micro * 10_000) / 1e10;
}

/** A cost as the response header and text write it: plain decimal, no exponent, no trailing zeros. */
export function formatUsd(usd: number): string {
  return usd.toFixed(10).replace(/\.?0+$/, "");
}
