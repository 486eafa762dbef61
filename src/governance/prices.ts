/**
 * `prices:` in the config: USD per million tokens for each public model, and the checks a config's prices must
 * pass. A request's cost comes from these and its usage (./cost.ts).
 */
import { z } from "zod";
import type { Config } from "../config/config.ts";
import type { ConfigIssue } from "../config/config-error.ts";

/** USD per million tokens; a bound far above any real price catches a price written per token or per thousand. */
const usdPerMillion = z.number().nonnegative().max(1_000_000);

/** One model's prices. */
export const modelPriceSchema = z.strictObject({
  /** Uncached input (prompt) tokens. */
  input: usdPerMillion,
  /** Input tokens read from the vendor's prompt cache; default `input` (a vendor without a discount). */
  cached_input: usdPerMillion.optional(),
  /** Input tokens written to the vendor's prompt cache (Anthropic bills them apart); default `input`. */
  cache_write_input: usdPerMillion.optional(),
  /** Output (completion) tokens, reasoning included. */
  output: usdPerMillion,
});

export type ModelPrice = z.infer<typeof modelPriceSchema>;

/** Public model name → its prices. */
export const pricesSchema = z.record(z.string().min(1), modelPriceSchema);

export type Prices = Readonly<Record<string, ModelPrice>>;

/** The price of `model`, or undefined (an own property only: a model named `constructor` has no price). */
export function priceOf(prices: Prices | undefined, model: string | undefined): ModelPrice | undefined {
  if (prices === undefined || model === undefined || !Object.hasOwn(prices, model)) return undefined;
  return prices[model];
}

/**
 * Every name under `prices:` must be a public model, or `provider/model` of a known provider (what a client may
 * ask for directly): any other name is a typo that would leave the model it meant unpriced.
 */
export function priceIssues(config: Config): ConfigIssue[] {
  const models = new Set(config.routes.map((route) => route.publicModel));
  const issues: ConfigIssue[] = [];
  for (const name of Object.keys(config.file.prices)) {
    const slash = name.indexOf("/");
    const direct = slash > 0 && slash < name.length - 1 && config.providers.has(name.slice(0, slash));
    if (!models.has(name) && !direct) {
      issues.push({
        path: `prices.${name}`,
        message: `'${name}' is not a model in model_config (nor provider/model of a known provider)`,
      });
    }
  }
  return issues;
}

/**
 * The public models that have no price, once someone cares about cost: when `prices:` lists any model or a key
 * has a budget. A config with neither is not told about every model (its costs are simply unknown).
 */
export function unpricedModels(config: Config): string[] {
  const prices = config.file.prices;
  const budgeted = config.file.auth.keys.some((key) => key.limits?.budget_usd !== undefined);
  if (Object.keys(prices).length === 0 && !budgeted) return [];
  return config.routes
    .map((route) => route.publicModel)
    .filter((model) => priceOf(prices, model) === undefined);
}

/** The warning for one unpriced model. */
export function unpricedWarning(model: string): string {
  return `model '${model}' has no price under prices: its requests cost null in the spend log and count nothing against budgets`;
}
