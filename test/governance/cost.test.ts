/**
 * Prices and cost: the formula (uncached, cached, cache-write and output tokens at their prices), the header's
 * number format, and the config checks (a price for an unknown model is an error, an unpriced model a warning
 * once prices or budgets are in use).
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { checkServing } from "../../src/config/serving-checks.ts";
import { costOf, formatUsd } from "../../src/governance/cost.ts";
import { priceOf } from "../../src/governance/prices.ts";

const PRICE = { input: 2, cached_input: 0.5, cache_write_input: 2.5, output: 8 };

describe("cost", () => {
  it("prices uncached input, cache reads, cache writes and output per million tokens", () => {
    const usage = {
      promptTokens: 1_000_000,
      completionTokens: 500_000,
      totalTokens: 1_500_000,
      cachedTokens: 200_000,
      cacheWriteTokens: 100_000,
    };
    // 700k uncached × 2 + 200k × 0.5 + 100k × 2.5 + 500k × 8, per million.
    expect(costOf(PRICE, usage)).toBe(1.4 + 0.1 + 0.25 + 4);
  });

  it("prices cache reads and writes at the input price when the model has no separate ones", () => {
    const usage = {
      promptTokens: 30,
      completionTokens: 10,
      totalTokens: 40,
      cachedTokens: 20,
      cacheWriteTokens: 5,
    };
    expect(costOf({ input: 1, output: 3 }, usage)).toBe((30 * 1 + 10 * 3) / 1e6);
  });

  it("is unknown without a price, and a model named like an Object property has none", () => {
    const usage = { promptTokens: 1, completionTokens: 1, totalTokens: 2 };
    expect(costOf(undefined, usage)).toBeUndefined();
    expect(priceOf({ m: PRICE }, "constructor")).toBeUndefined();
    expect(priceOf({ m: PRICE }, "m")).toBe(PRICE);
  });

  it("writes costs as plain decimals without float noise or exponents", () => {
    expect(
      formatUsd(
        costOf({ input: 0.15, output: 0.6 }, { promptTokens: 11, completionTokens: 7, totalTokens: 18 }) ??
          -1,
      ),
    ).toBe("0.00000585");
    expect(formatUsd(0.1 + 0.2)).toBe("0.3");
    expect(formatUsd(0)).toBe("0");
    expect(formatUsd(12)).toBe("12");
  });
});

const MODELS = "model_config: {m1: echo, m2: echo}\nproviders: {echo: {type: echo}}\n";

function check(extra: string) {
  return checkServing(parseConfig(`${MODELS}${extra}`, "prices.yaml"), {}, "warn");
}

describe("prices in the config", () => {
  it("refuses a price for a model that does not exist, naming its path", () => {
    const result = check("prices:\n  m1: {input: 1, output: 2}\n  m-typo: {input: 1, output: 2}\n");
    expect(result.errors).toEqual([
      {
        path: "prices.m-typo",
        message: "'m-typo' is not a model in model_config (nor provider/model of a known provider)",
      },
    ]);
  });

  it("accepts provider/model names of a known provider", () => {
    expect(check("prices:\n  echo/anything: {input: 1, output: 2}\n").errors).toEqual([]);
  });

  it("rejects negative, missing and unknown price fields", () => {
    expect(() => parseConfig(`${MODELS}prices: {m1: {input: -1, output: 2}}\n`, "p.yaml")).toThrow(
      /prices\.m1\.input/,
    );
    expect(() => parseConfig(`${MODELS}prices: {m1: {input: 1}}\n`, "p.yaml")).toThrow(/prices\.m1\.output/);
    expect(() => parseConfig(`${MODELS}prices: {m1: {input: 1, output: 1, cached: 1}}\n`, "p.yaml")).toThrow(
      /cached/,
    );
  });

  it("warns once per unpriced model when prices are in use, and says nothing when they are not", () => {
    expect(check("").warnings).toEqual([]);
    const warnings = check("prices:\n  m1: {input: 1, output: 2}\n").warnings;
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain("model 'm2' has no price");
  });

  it("warns about every model when a key has a budget and nothing is priced", () => {
    const budget = "auth:\n  keys: [{name: a, key: sk-budget-key-000000, limits: {budget_usd: 5}}]\n";
    expect(check(budget).warnings.map((warning) => warning.message)).toEqual([
      expect.stringContaining("model 'm1'"),
      expect.stringContaining("model 'm2'"),
    ]);
  });
});
