/**
 * What the benchmark measures: the scenarios (one request shape at one concurrency, run against each target) and
 * the issue-8 targets computed from them. A new target is one Scenario (if it needs a new shape) plus one Check.
 */
import type { RunResult } from "./protocol.ts";

/** Who the load generator calls. */
export type TargetName = "direct" | "passthrough" | "gateway";
export const TARGETS: readonly TargetName[] = ["direct", "passthrough", "gateway"];
export const TARGET_LABEL: Readonly<Record<TargetName, string>> = {
  direct: "direct",
  passthrough: "pass-through",
  gateway: "gateway",
};

/** One request shape at one concurrency. The model name tells the mock what to answer (see mock-upstream.ts). */
export interface Scenario {
  readonly key: string;
  readonly title: string;
  readonly model: string;
  readonly stream: boolean;
  readonly concurrency: number;
  /** Count mode: exactly this many requests per run instead of a timed run. */
  readonly requests?: number;
  /** Content the answer must carry (checked once per target before measuring). */
  readonly expectedText: string;
}

function tokens(count: number): string {
  let text = "";
  for (let i = 0; i < count; i++) text += `tok${i} `;
  return text;
}

/** Non-streaming answers carry 5 tokens (the gateway still streams them from the mock: it always asks for SSE). */
const JSON_CHUNKS = 5;
const STREAM_CHUNKS = 50;

export const SCENARIOS: readonly Scenario[] = [
  {
    key: "json-c200",
    title: "non-stream c=200",
    model: `bench-k${JSON_CHUNKS}`,
    stream: false,
    concurrency: 200,
    expectedText: tokens(JSON_CHUNKS),
  },
  {
    key: "json-c1",
    title: "non-stream c=1",
    model: `bench-k${JSON_CHUNKS}`,
    stream: false,
    concurrency: 1,
    expectedText: tokens(JSON_CHUNKS),
  },
  {
    key: "sse-c100",
    title: `stream ${STREAM_CHUNKS} chunks c=100`,
    model: `bench-k${STREAM_CHUNKS}`,
    stream: true,
    concurrency: 100,
    expectedText: tokens(STREAM_CHUNKS),
  },
  {
    key: "sse-c1",
    title: `stream ${STREAM_CHUNKS} chunks c=1`,
    model: `bench-k${STREAM_CHUNKS}`,
    stream: true,
    concurrency: 1,
    expectedText: tokens(STREAM_CHUNKS),
  },
  {
    key: "slow-c100",
    title: "100 × upstream 1 s",
    model: `bench-k${JSON_CHUNKS}-d1000`,
    stream: false,
    concurrency: 100,
    requests: 100,
    expectedText: tokens(JSON_CHUNKS),
  },
];

/** Every model the gateway must route to the mock. */
export const BENCH_MODELS: readonly string[] = [...new Set(SCENARIOS.map((scenario) => scenario.model))];

/** The JSON body the load generator sends for a scenario. */
export function requestBody(scenario: Scenario): string {
  return JSON.stringify({
    model: scenario.model,
    messages: [{ role: "user", content: "Say hello" }],
    stream: scenario.stream,
  });
}

/** One round's results: scenario key → target → result. */
export type RoundResults = ReadonlyMap<string, ReadonlyMap<TargetName, RunResult>>;

/** A target of issue 8, evaluated per round; the median across rounds is compared with the limit. */
export interface Check {
  readonly id: string;
  readonly title: string;
  readonly unit: "ratio" | "ms";
  readonly limit: number;
  readonly direction: "min" | "max";
  /** Only gated checks fail `--check`; the others are reported. */
  readonly gated: boolean;
  /** Scenarios it reads; without them (`--only`) the check is skipped. */
  readonly scenarios: readonly string[];
  /** The value in one round, or undefined when a run is missing. */
  value(round: RoundResults): number | undefined;
  /** The same figure for the pass-through, for comparison (optional). */
  baseline?(round: RoundResults): number | undefined;
}

function get(round: RoundResults, scenario: string, target: TargetName): RunResult | undefined {
  return round.get(scenario)?.get(target);
}

function ratio(round: RoundResults, scenario: string): number | undefined {
  const gateway = get(round, scenario, "gateway");
  const passthrough = get(round, scenario, "passthrough");
  return gateway && passthrough && passthrough.rps > 0 ? gateway.rps / passthrough.rps : undefined;
}

function diff(
  round: RoundResults,
  scenario: string,
  target: TargetName,
  pick: (result: RunResult) => number,
) {
  const measured = get(round, scenario, target);
  const direct = get(round, scenario, "direct");
  return measured && direct ? pick(measured) - pick(direct) : undefined;
}

export const CHECKS: readonly Check[] = [
  {
    id: "json-rps-ratio",
    title: "non-stream c=200 req/s, gateway / pass-through",
    unit: "ratio",
    limit: 0.8,
    direction: "min",
    gated: true,
    scenarios: ["json-c200"],
    value: (round) => ratio(round, "json-c200"),
  },
  {
    id: "json-added-p50-c1",
    title: "added p50 latency at c=1 (minus direct)",
    unit: "ms",
    limit: 0.4,
    direction: "max",
    gated: true,
    scenarios: ["json-c1"],
    value: (round) => diff(round, "json-c1", "gateway", (result) => result.latency.p50),
    baseline: (round) => diff(round, "json-c1", "passthrough", (result) => result.latency.p50),
  },
  {
    id: "sse-rps-ratio",
    title: "stream c=100 req/s, gateway / pass-through",
    unit: "ratio",
    limit: 0.8,
    direction: "min",
    gated: true,
    scenarios: ["sse-c100"],
    value: (round) => ratio(round, "sse-c100"),
  },
  {
    id: "sse-added-ttfb-c1",
    title: "stream ttfb p50 at c=1 (minus direct)",
    unit: "ms",
    limit: 1,
    direction: "max",
    gated: true,
    scenarios: ["sse-c1"],
    value: (round) => diff(round, "sse-c1", "gateway", (result) => result.ttfb.p50),
    baseline: (round) => diff(round, "sse-c1", "passthrough", (result) => result.ttfb.p50),
  },
  {
    id: "slow-all-done",
    title: "100 concurrent × upstream 1 s: all done in",
    unit: "ms",
    limit: 1070,
    direction: "max",
    gated: false,
    scenarios: ["slow-c100"],
    value: (round) => {
      const result = get(round, "slow-c100", "gateway");
      return result && result.errors === 0 ? result.elapsedMs : undefined;
    },
    baseline: (round) => get(round, "slow-c100", "passthrough")?.elapsedMs,
  },
];
