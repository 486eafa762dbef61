/**
 * What the benchmark measures: the scenarios (one request shape at one concurrency, run against some targets) and
 * the issue-8 targets computed from them per round. A new target is one Scenario (if it needs a new shape) plus
 * one Check; the two whole-run targets (10,000 streams, leak) are phases (./phases.ts).
 */
import type { LoadProtocol, RunResult } from "./protocol.ts";

/**
 * Who the load generator calls: the vendor itself, the bare pass-through, the same pass-through served by a
 * minimal Fastify app (the floor of any Fastify-based gateway, for reference), the gateway, and two traced
 * gateways: every request sampled (`sample_ratio: 1.0`), and one in ten (`0.1`, as a busy production might run),
 * and the gateway with its spend log off (`store.spend_log: false`), against which the spend log's cost is measured.
 */
export type TargetName =
  | "direct"
  | "passthrough"
  | "fastify-floor"
  | "gateway"
  | "gateway-keyed"
  | "gateway-traced"
  | "gateway-traced-0.1"
  | "gateway-spend-off";
export const TARGETS: readonly TargetName[] = [
  "direct",
  "passthrough",
  "fastify-floor",
  "gateway",
  "gateway-keyed",
  "gateway-traced",
  "gateway-traced-0.1",
  "gateway-spend-off",
];
export const TARGET_LABEL: Readonly<Record<TargetName, string>> = {
  direct: "direct",
  passthrough: "pass-through",
  "fastify-floor": "fastify floor",
  gateway: "gateway",
  "gateway-keyed": "gw keyed",
  "gateway-traced": "gw traced 1.0",
  "gateway-traced-0.1": "gw traced 0.1",
  "gateway-spend-off": "gw spend off",
};

/** The traced targets: their `telemetry.sample_ratio`. */
export const TRACED_TARGETS: Readonly<Partial<Record<TargetName, number>>> = {
  "gateway-traced": 1,
  "gateway-traced-0.1": 0.1,
};

/** The usual comparison: the vendor, the pass-through and the gateway. */
const COMPARED: readonly TargetName[] = ["direct", "passthrough", "gateway"];
/** The throughput scenarios: the same, plus the Fastify floor and the gateway with tracing at 1.0 and 0.1. */
const COMPARED_AND_TRACED: readonly TargetName[] = [
  "direct",
  "passthrough",
  "fastify-floor",
  "gateway",
  "gateway-traced",
  "gateway-traced-0.1",
];

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
  /** How requests travel (default HTTP/1.1 to the OpenAI API). */
  readonly protocol?: LoadProtocol;
  /**
   * Anthropic's Messages API (`POST /v1/messages`) or OpenAI's Responses API (`POST /v1/responses`) instead of
   * chat completions, over HTTP/1.1.
   */
  readonly api?: "messages" | "responses";
  /** Who is measured, in this order within a round. */
  readonly targets: readonly TargetName[];
  /** The client key sent as `Authorization: Bearer` (the keyed gateway's scenarios). */
  readonly apiKey?: string;
}

/**
 * The keyed gateway's two client keys: one without limits, and one whose rpm, tpm and max_parallel are far above
 * any load here, so that every request runs the whole admission and settle and none is refused.
 */
export const BENCH_FREE_KEY = "sk-bench-free-key-000001";
export const BENCH_LIMITED_KEY = "sk-bench-limited-key-0001";

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
    targets: COMPARED_AND_TRACED,
  },
  {
    key: "json-c1",
    title: "non-stream c=1",
    model: `bench-k${JSON_CHUNKS}`,
    stream: false,
    concurrency: 1,
    expectedText: tokens(JSON_CHUNKS),
    targets: COMPARED,
  },
  {
    key: "sse-c100",
    title: `stream ${STREAM_CHUNKS} chunks c=100`,
    model: `bench-k${STREAM_CHUNKS}`,
    stream: true,
    concurrency: 100,
    expectedText: tokens(STREAM_CHUNKS),
    targets: COMPARED_AND_TRACED,
  },
  {
    key: "sse-c1",
    title: `stream ${STREAM_CHUNKS} chunks c=1`,
    model: `bench-k${STREAM_CHUNKS}`,
    stream: true,
    concurrency: 1,
    expectedText: tokens(STREAM_CHUNKS),
    targets: COMPARED,
  },
  {
    key: "slow-c100",
    title: "100 × upstream 1 s",
    model: `bench-k${JSON_CHUNKS}-d1000`,
    stream: false,
    concurrency: 100,
    requests: 100,
    expectedText: tokens(JSON_CHUNKS),
    targets: COMPARED,
  },
  {
    key: "keyed-json-c200",
    title: "non-stream c=200, key without limits",
    model: `bench-k${JSON_CHUNKS}`,
    stream: false,
    concurrency: 200,
    expectedText: tokens(JSON_CHUNKS),
    targets: ["gateway-keyed"],
    apiKey: BENCH_FREE_KEY,
  },
  {
    key: "limited-json-c200",
    title: "non-stream c=200, key with limits",
    model: `bench-k${JSON_CHUNKS}`,
    stream: false,
    concurrency: 200,
    expectedText: tokens(JSON_CHUNKS),
    targets: ["gateway-keyed"],
    apiKey: BENCH_LIMITED_KEY,
  },
  {
    key: "keyed-json-c1",
    title: "non-stream c=1, key without limits",
    model: `bench-k${JSON_CHUNKS}`,
    stream: false,
    concurrency: 1,
    expectedText: tokens(JSON_CHUNKS),
    targets: ["gateway-keyed"],
    apiKey: BENCH_FREE_KEY,
  },
  {
    key: "limited-json-c1",
    title: "non-stream c=1, key with limits",
    model: `bench-k${JSON_CHUNKS}`,
    stream: false,
    concurrency: 1,
    expectedText: tokens(JSON_CHUNKS),
    targets: ["gateway-keyed"],
    apiKey: BENCH_LIMITED_KEY,
  },
  {
    key: "spend-json-c200",
    title: "non-stream c=200, spend log off / on",
    model: `bench-k${JSON_CHUNKS}`,
    stream: false,
    concurrency: 200,
    expectedText: tokens(JSON_CHUNKS),
    targets: ["gateway-spend-off", "gateway"],
  },
  {
    key: "grpc-stream-c100",
    title: `gRPC stream ${STREAM_CHUNKS} chunks c=100`,
    model: `bench-k${STREAM_CHUNKS}`,
    stream: true,
    concurrency: 100,
    expectedText: tokens(STREAM_CHUNKS),
    protocol: "grpc",
    targets: ["gateway"],
  },
  {
    key: "messages-sse-c100",
    title: `Messages stream ${STREAM_CHUNKS} chunks c=100`,
    model: `bench-k${STREAM_CHUNKS}`,
    stream: true,
    concurrency: 100,
    expectedText: tokens(STREAM_CHUNKS),
    api: "messages",
    targets: ["gateway"],
  },
  {
    key: "responses-sse-c100",
    title: `Responses stream ${STREAM_CHUNKS} chunks c=100`,
    model: `bench-k${STREAM_CHUNKS}`,
    stream: true,
    concurrency: 100,
    expectedText: tokens(STREAM_CHUNKS),
    api: "responses",
    targets: ["gateway"],
  },
  {
    key: "responses-sse-c1",
    title: `Responses stream ${STREAM_CHUNKS} chunks c=1`,
    model: `bench-k${STREAM_CHUNKS}`,
    stream: true,
    concurrency: 1,
    expectedText: tokens(STREAM_CHUNKS),
    api: "responses",
    targets: ["gateway"],
  },
  {
    key: "grpc-unary-c200",
    title: "gRPC unary c=200",
    model: `bench-k${JSON_CHUNKS}`,
    stream: false,
    concurrency: 200,
    expectedText: tokens(JSON_CHUNKS),
    protocol: "grpc",
    targets: ["gateway"],
  },
];

/** Content chunks of the streamed answers (for CPU per chunk). */
export const CHUNKS_PER_STREAM = STREAM_CHUNKS;

/** The models of the whole-run phases (./phases.ts): slow streams for 10,000 at once, short answers for the leak check. */
export const MANY_STREAMS_MODEL = "bench-k20-i50";
export const LEAK_MODEL = `bench-k${JSON_CHUNKS}`;

/** Every model the gateway must route to the mock. */
export const BENCH_MODELS: readonly string[] = [
  ...new Set([...SCENARIOS.map((scenario) => scenario.model), MANY_STREAMS_MODEL, LEAK_MODEL]),
];

/** The path of the Messages scenarios. */
export const MESSAGES_PATH = "/v1/messages";
/** The path of the Responses scenarios. */
export const RESPONSES_PATH = "/v1/responses";

/** The path a scenario's API is served on, when it is not chat completions. */
export function apiPath(scenario: Pick<Scenario, "api">): string | undefined {
  if (scenario.api === "messages") return MESSAGES_PATH;
  if (scenario.api === "responses") return RESPONSES_PATH;
  return undefined;
}

/** The JSON body the load generator sends for a scenario. */
export function requestBody(scenario: Pick<Scenario, "model" | "stream" | "api">): string {
  if (scenario.api === "responses") {
    return JSON.stringify({ model: scenario.model, input: "Say hello", stream: scenario.stream });
  }
  if (scenario.api === "messages") {
    return JSON.stringify({
      model: scenario.model,
      max_tokens: 1024,
      messages: [{ role: "user", content: "Say hello" }],
      stream: scenario.stream,
    });
  }
  return JSON.stringify({
    model: scenario.model,
    messages: [{ role: "user", content: "Say hello" }],
    stream: scenario.stream,
  });
}

/** One measured run: what the load generator saw and the CPU time (µs) of the process under test. */
export interface RoundSample {
  readonly result: RunResult;
  readonly cpuMicros: number | undefined;
}

/** One round's results: scenario key → target → sample. */
export type RoundResults = ReadonlyMap<string, ReadonlyMap<TargetName, RoundSample>>;

/**
 * A target of issue 8, evaluated per round; the median across rounds is compared with the limit. Ungated checks
 * are references (the Fastify floor measured against the same limit), reported but never failing `--check`.
 */
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
  return round.get(scenario)?.get(target)?.result;
}

function ratio(
  round: RoundResults,
  scenario: string,
  over: TargetName = "passthrough",
  target: TargetName = "gateway",
): number | undefined {
  const measured = get(round, scenario, target);
  const base = get(round, scenario, over);
  return measured && base && base.rps > 0 && measured.errors === 0 ? measured.rps / base.rps : undefined;
}

/** CPU µs per answered request of the target's process in one run. */
export function cpuPerRequest(round: RoundResults, scenario: string, target: TargetName): number | undefined {
  const sample = round.get(scenario)?.get(target);
  if (sample?.cpuMicros === undefined || sample.result.finished === 0) return undefined;
  return sample.cpuMicros / sample.result.finished;
}

/** req/s of one keyed-gateway scenario over another's, when both ran without errors. */
function keyedRatio(round: RoundResults, scenario: string, over: string): number | undefined {
  const measured = get(round, scenario, "gateway-keyed");
  const base = get(round, over, "gateway-keyed");
  return measured && base && base.rps > 0 && measured.errors === 0 ? measured.rps / base.rps : undefined;
}

function cpuRatio(round: RoundResults, scenario: string, over: string): number | undefined {
  const measured = cpuPerRequest(round, scenario, "gateway");
  const base = cpuPerRequest(round, over, "gateway");
  return measured !== undefined && base !== undefined && base > 0 ? measured / base : undefined;
}

/** A figure of one scenario minus the same figure of another, both on `target`. */
function scenarioDiff(
  round: RoundResults,
  scenario: string,
  over: string,
  target: TargetName,
  pick: (result: RunResult) => number,
): number | undefined {
  const measured = get(round, scenario, target);
  const base = get(round, over, target);
  return measured && base ? pick(measured) - pick(base) : undefined;
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
    id: "spend-log-json-rps-ratio",
    title: "non-stream c=200 req/s, spend log on / off",
    unit: "ratio",
    limit: 0.95,
    direction: "min",
    gated: true,
    scenarios: ["spend-json-c200"],
    value: (round) => ratio(round, "spend-json-c200", "gateway-spend-off", "gateway"),
  },
  {
    id: "limits-json-rps-ratio",
    title: "non-stream c=200 req/s, limited key / key without limits",
    unit: "ratio",
    limit: 0.95,
    direction: "min",
    gated: true,
    scenarios: ["limited-json-c200", "keyed-json-c200"],
    value: (round) => keyedRatio(round, "limited-json-c200", "keyed-json-c200"),
  },
  {
    id: "limits-added-p50-c1",
    title: "p50 at c=1 added by a key's limits",
    unit: "ms",
    limit: 0.1,
    direction: "max",
    gated: true,
    scenarios: ["limited-json-c1", "keyed-json-c1"],
    value: (round) =>
      scenarioDiff(
        round,
        "limited-json-c1",
        "keyed-json-c1",
        "gateway-keyed",
        (result) => result.latency.p50,
      ),
  },
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
    id: "floor-json-rps-ratio",
    title: "  (reference) Fastify floor / pass-through",
    unit: "ratio",
    limit: 0.8,
    direction: "min",
    gated: false,
    scenarios: ["json-c200"],
    value: (round) => ratio(round, "json-c200", "passthrough", "fastify-floor"),
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
    id: "floor-sse-rps-ratio",
    title: "  (reference) Fastify floor / pass-through",
    unit: "ratio",
    limit: 0.8,
    direction: "min",
    gated: false,
    scenarios: ["sse-c100"],
    value: (round) => ratio(round, "sse-c100", "passthrough", "fastify-floor"),
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
    gated: true,
    scenarios: ["slow-c100"],
    value: (round) => {
      const result = get(round, "slow-c100", "gateway");
      return result && result.errors === 0 ? result.elapsedMs : undefined;
    },
    baseline: (round) => get(round, "slow-c100", "passthrough")?.elapsedMs,
  },
  {
    id: "grpc-stream-cpu-per-chunk",
    title: "gRPC stream CPU per chunk / SSE's (c=100)",
    unit: "ratio",
    limit: 1,
    direction: "max",
    gated: true,
    scenarios: ["grpc-stream-c100", "sse-c100"],
    value: (round) => cpuRatio(round, "grpc-stream-c100", "sse-c100"),
  },
  {
    id: "messages-stream-cpu-per-chunk",
    title: "Messages stream CPU per chunk / SSE's (c=100)",
    unit: "ratio",
    limit: 1.2,
    direction: "max",
    gated: true,
    scenarios: ["messages-sse-c100", "sse-c100"],
    value: (round) => cpuRatio(round, "messages-sse-c100", "sse-c100"),
  },
  {
    id: "responses-stream-cpu-per-chunk",
    title: "Responses stream CPU per chunk / SSE's (c=100)",
    unit: "ratio",
    limit: 1.2,
    direction: "max",
    gated: true,
    scenarios: ["responses-sse-c100", "sse-c100"],
    value: (round) => cpuRatio(round, "responses-sse-c100", "sse-c100"),
  },
  {
    id: "responses-first-delta-c1",
    title: "Responses first text delta p50 minus chat's first chunk (c=1)",
    unit: "ms",
    limit: 0.5,
    direction: "max",
    gated: true,
    scenarios: ["responses-sse-c1", "sse-c1"],
    value: (round) =>
      scenarioDiff(round, "responses-sse-c1", "sse-c1", "gateway", (result) => result.ttfb.p50),
  },
  {
    id: "grpc-unary-cpu",
    title: "gRPC unary CPU per request / facade's (c=200)",
    unit: "ratio",
    limit: 1.5,
    direction: "max",
    gated: true,
    scenarios: ["grpc-unary-c200", "json-c200"],
    value: (round) => cpuRatio(round, "grpc-unary-c200", "json-c200"),
  },
  {
    id: "tracing-json-rps",
    title: "non-stream c=200 req/s, traced 1.0 / untraced",
    unit: "ratio",
    limit: 0.75,
    direction: "min",
    gated: true,
    scenarios: ["json-c200"],
    value: (round) => ratio(round, "json-c200", "gateway", "gateway-traced"),
  },
  {
    id: "tracing-sse-rps",
    title: "stream c=100 req/s, traced 1.0 / untraced",
    unit: "ratio",
    limit: 0.75,
    direction: "min",
    gated: true,
    scenarios: ["sse-c100"],
    value: (round) => ratio(round, "sse-c100", "gateway", "gateway-traced"),
  },
  {
    id: "tracing-0.1-json-rps",
    title: "non-stream c=200 req/s, traced 0.1 / untraced",
    unit: "ratio",
    limit: 0.9,
    direction: "min",
    gated: true,
    scenarios: ["json-c200"],
    value: (round) => ratio(round, "json-c200", "gateway", "gateway-traced-0.1"),
  },
  {
    id: "tracing-0.1-sse-rps",
    title: "stream c=100 req/s, traced 0.1 / untraced",
    unit: "ratio",
    limit: 0.9,
    direction: "min",
    gated: true,
    scenarios: ["sse-c100"],
    value: (round) => ratio(round, "sse-c100", "gateway", "gateway-traced-0.1"),
  },
];
