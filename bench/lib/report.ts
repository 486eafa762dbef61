/**
 * Turns the per-round samples into medians, evaluates the checks, and prints the table and the JSON summary.
 */
import type { LeakResult, ManyStreamsResult } from "./phases.ts";
import { LEAK_FIRST, LEAK_TOTAL, MANY_STREAMS } from "./phases.ts";
import type { RunResult } from "./protocol.ts";
import {
  CHECKS,
  CHUNKS_PER_STREAM,
  type RoundResults,
  type RoundSample,
  SCENARIOS,
  TARGET_LABEL,
  TARGETS,
  type TargetName,
  TRACED_TARGETS,
} from "./scenarios.ts";
import { median } from "./stats.ts";

export type ProcessName =
  | "mock"
  | "passthrough"
  | "fastify-floor"
  | "gateway"
  | "gateway-keyed"
  | "gateway-traced"
  | "gateway-traced-0.1"
  | "gateway-spend-off"
  | "load";
export const PROCESS_NAMES: readonly ProcessName[] = [
  "mock",
  "passthrough",
  "fastify-floor",
  "gateway",
  "gateway-keyed",
  "gateway-traced",
  "gateway-traced-0.1",
  "gateway-spend-off",
  "load",
];

/** One run of one scenario against one target, with the CPU time each process spent during it (µs). */
export interface Sample {
  readonly round: number;
  readonly result: RunResult;
  readonly cpuMicros: Readonly<Record<ProcessName, number | undefined>>;
  /** Connections the mock accepted during the run (keep-alive reuse keeps this near 0 once warm). */
  readonly upstreamConnectionsOpened: number | undefined;
  /** Spans the mock's OTLP receiver got from the traced gateway under test during the run. */
  readonly spansReceived: number | undefined;
}

/** scenario key → target → samples of the measured rounds. */
export type Samples = Map<string, Map<TargetName, Sample[]>>;

export interface TargetSummary {
  readonly rps: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly ttfbP50Ms: number;
  readonly elapsedMs: number;
  readonly errors: number;
  readonly requests: number;
  /** CPU per request of the process under test (pass-through or gateway); NaN for direct. */
  readonly cpuPerRequestUs: number;
  readonly mockCpuPerRequestUs: number;
  readonly loadCpuPerRequestUs: number;
  /** Median per run of the upstream connections opened. */
  readonly upstreamConnectionsPerRun: number;
  /** Median per run of the spans received per request (the traced gateways). */
  readonly spansPerRequest: number;
  readonly errorSamples: readonly string[];
}

export interface CheckSummary {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly value: number;
  readonly passthrough: number | undefined;
  readonly limit: number;
  readonly direction: "min" | "max";
  readonly gated: boolean;
  readonly pass: boolean;
  /** Skipped when a scenario it needs did not run (`--only`). */
  readonly skipped: boolean;
  readonly perRound: readonly (number | undefined)[];
}

/** The whole-run phases, when they ran. */
export interface PhaseResults {
  readonly manyStreams?: ManyStreamsResult;
  readonly leak?: LeakResult;
}

export interface Summary {
  readonly meta: Record<string, unknown>;
  readonly phases: PhaseResults;
  readonly scenarios: Record<
    string,
    { title: string; concurrency: number; targets: Partial<Record<TargetName, TargetSummary>> }
  >;
  readonly checks: readonly CheckSummary[];
  readonly memoryMiB: Partial<Record<ProcessName, { peak: number; current: number }>>;
}

/** The process whose CPU a target's runs are charged to. */
export const PROXY_PROCESS: Readonly<Record<TargetName, ProcessName | undefined>> = {
  direct: undefined,
  passthrough: "passthrough",
  "fastify-floor": "fastify-floor",
  gateway: "gateway",
  "gateway-keyed": "gateway-keyed",
  "gateway-traced": "gateway-traced",
  "gateway-traced-0.1": "gateway-traced-0.1",
  "gateway-spend-off": "gateway-spend-off",
};

function perRequest(samples: readonly Sample[], process: ProcessName | undefined): number {
  if (process === undefined) return Number.NaN;
  return median(samples.map((s) => (s.cpuMicros[process] ?? Number.NaN) / Math.max(1, s.result.finished)));
}

function summarizeTarget(target: TargetName, samples: readonly Sample[]): TargetSummary {
  const results = samples.map((sample) => sample.result);
  return {
    rps: median(results.map((r) => r.rps)),
    latencyP50Ms: median(results.map((r) => r.latency.p50)),
    latencyP99Ms: median(results.map((r) => r.latency.p99)),
    ttfbP50Ms: median(results.map((r) => r.ttfb.p50)),
    elapsedMs: median(results.map((r) => r.elapsedMs)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    requests: results.reduce((sum, r) => sum + r.finished, 0),
    cpuPerRequestUs: perRequest(samples, PROXY_PROCESS[target]),
    mockCpuPerRequestUs: perRequest(samples, "mock"),
    loadCpuPerRequestUs: perRequest(samples, "load"),
    upstreamConnectionsPerRun: median(samples.map((s) => s.upstreamConnectionsOpened ?? Number.NaN)),
    spansPerRequest: median(
      samples.map((s) => (s.spansReceived ?? Number.NaN) / Math.max(1, s.result.finished)),
    ),
    errorSamples: [...new Set(results.flatMap((r) => r.errorSamples))].slice(0, 3),
  };
}

function roundsOf(samples: Samples, rounds: number): RoundResults[] {
  const out: RoundResults[] = [];
  for (let round = 0; round < rounds; round++) {
    const byScenario = new Map<string, Map<TargetName, RoundSample>>();
    for (const [key, byTarget] of samples) {
      const results = new Map<TargetName, RoundSample>();
      for (const [target, list] of byTarget) {
        const sample = list.find((s) => s.round === round);
        const process = PROXY_PROCESS[target];
        if (sample !== undefined) {
          const cpuMicros = process === undefined ? undefined : sample.cpuMicros[process];
          results.set(target, { result: sample.result, cpuMicros });
        }
      }
      byScenario.set(key, results);
    }
    out.push(byScenario);
  }
  return out;
}

/** The phases' targets: 10,000 streams without a failure under the RSS limit, and no RSS growth. */
function phaseChecks(phases: PhaseResults): CheckSummary[] {
  const check = (
    id: string,
    title: string,
    unit: string,
    value: number | undefined,
    limit: number,
    direction: "min" | "max",
    gated = true,
  ): CheckSummary => {
    const skipped = value === undefined;
    const measured = value ?? Number.NaN;
    const pass = direction === "min" ? measured >= limit : measured <= limit;
    return {
      id,
      title,
      unit,
      value: measured,
      passthrough: undefined,
      limit,
      direction,
      gated,
      pass,
      skipped,
      perRound: [],
    };
  };
  const streams = phases.manyStreams;
  const leak = phases.leak;
  return [
    check(
      "many-streams-failed",
      `${MANY_STREAMS} concurrent streams: not completed`,
      "count",
      streams === undefined ? undefined : streams.streams - streams.completed + streams.errors,
      0,
      "max",
    ),
    check(
      "many-streams-peak-rss",
      "gateway peak RSS (10,000 streams)",
      "MB",
      streams?.gatewayPeakRssMB,
      600,
      "max",
    ),
    check(
      "many-streams-floor-peak-rss",
      "  (reference) Fastify floor peak RSS, same load",
      "MB",
      streams?.references.find((reference) => reference.name === "fastify floor")?.peakRssMB,
      600,
      "max",
      false,
    ),
    check(
      "leak-rss-growth",
      `RSS after ${LEAK_TOTAL / 1000}k / after ${LEAK_FIRST / 1000}k requests`,
      "ratio",
      leak === undefined || leak.errors > 0 ? (leak === undefined ? undefined : Number.NaN) : leak.growth,
      1.1,
      "max",
    ),
  ];
}

/** Medians per scenario and target, and each check's median over the rounds. */
export function summarize(
  samples: Samples,
  rounds: number,
  meta: Record<string, unknown>,
  memory: Summary["memoryMiB"],
  phases: PhaseResults,
): Summary {
  const scenarios: Summary["scenarios"] = {};
  for (const scenario of SCENARIOS) {
    const byTarget = samples.get(scenario.key);
    if (byTarget === undefined) continue;
    const targets: Partial<Record<TargetName, TargetSummary>> = {};
    for (const [target, list] of byTarget) targets[target] = summarizeTarget(target, list);
    scenarios[scenario.key] = { title: scenario.title, concurrency: scenario.concurrency, targets };
  }
  const perRound = roundsOf(samples, rounds);
  const checks = CHECKS.map((check): CheckSummary => {
    const values = perRound.map((round) => check.value(round));
    const value = median(values.map((v) => v ?? Number.NaN));
    const baseline = check.baseline
      ? median(perRound.map((round) => check.baseline?.(round) ?? Number.NaN))
      : undefined;
    const pass = check.direction === "min" ? value >= check.limit : value <= check.limit;
    const skipped = check.scenarios.some((key) => !samples.has(key));
    const { id, title, unit, limit, direction, gated } = check;
    return {
      id,
      title,
      unit,
      limit,
      direction,
      gated,
      value,
      passthrough: baseline,
      pass,
      skipped,
      perRound: values,
    };
  });
  return { meta, phases, scenarios, checks: [...checks, ...phaseChecks(phases)], memoryMiB: memory };
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? "n/a" : value.toFixed(digits);
}

function row(cells: readonly string[], widths: readonly number[], left = 1): string {
  return cells
    .map((cell, i) => (i < left ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
    .join("  ");
}

function printScenarios(summary: Summary, out: string[]): void {
  const widths = [26, 13, 7, 9, 8, 9, 6, 10, 9];
  const header = [
    "scenario",
    "target",
    "req/s",
    "p50 ms",
    "p99 ms",
    "ttfb p50",
    "errors",
    "cpu µs/req",
    "new conns",
  ];
  out.push(row(header, widths, 2));
  for (const scenario of SCENARIOS) {
    const entry = summary.scenarios[scenario.key];
    if (entry === undefined) continue;
    let first = true;
    for (const target of TARGETS) {
      const t = entry.targets[target];
      if (t === undefined) continue;
      const cells = [
        first ? entry.title : "",
        TARGET_LABEL[target],
        fixed(t.rps, 0),
        fixed(t.latencyP50Ms, 3),
        fixed(t.latencyP99Ms, 2),
        fixed(t.ttfbP50Ms, 3),
        String(t.errors),
        fixed(t.cpuPerRequestUs, 0),
        fixed(t.upstreamConnectionsPerRun, 0),
      ];
      first = false;
      out.push(row(cells, widths, 2));
      if (TRACED_TARGETS[target] !== undefined && Number.isFinite(t.spansPerRequest)) {
        out.push(
          `${"".padEnd(widths[0] ?? 0)}  (spans exported per request: ${t.spansPerRequest.toFixed(2)})`,
        );
      }
      for (const message of t.errorSamples) out.push(`${"".padEnd(widths[0] ?? 0)}  ! ${message}`);
    }
  }
}

function formatCheckValue(value: number | undefined, unit: string): string {
  if (unit === "ratio") return fixed(value, 2);
  if (unit === "ms") return `${fixed(value, 3)} ms`;
  if (unit === "MB") return `${fixed(value, 0)} MB`;
  return fixed(value, 0);
}

function printChecks(summary: Summary, out: string[]): void {
  const widths = [50, 12, 13, 13, 6];
  out.push(
    row(
      ["issue-8 target (median of per-round values)", "gateway", "pass-through", "limit", "result"],
      widths,
    ),
  );
  for (const check of summary.checks) {
    const limit = `${check.direction === "min" ? "≥" : "≤"} ${formatCheckValue(check.limit, check.unit)}`;
    // References (ungated) are measured against the same limit but never fail a run: shown in parentheses.
    const verdict = check.pass ? "ok" : check.gated ? "MISS" : "miss";
    const result = check.skipped ? "skip" : check.gated ? verdict : `(${verdict})`;
    const baseline = check.passthrough === undefined ? "" : formatCheckValue(check.passthrough, check.unit);
    out.push(row([check.title, formatCheckValue(check.value, check.unit), baseline, limit, result], widths));
  }
}

/** CPU per streamed chunk of both protocols, the figure behind the gRPC check. */
function printPerChunk(summary: Summary, out: string[]): void {
  const sse = summary.scenarios["sse-c100"]?.targets.gateway?.cpuPerRequestUs;
  const grpc = summary.scenarios["grpc-stream-c100"]?.targets.gateway?.cpuPerRequestUs;
  if (sse === undefined || grpc === undefined) return;
  out.push(
    `  gateway CPU per streamed chunk (${CHUNKS_PER_STREAM} per answer): SSE ${fixed(sse / CHUNKS_PER_STREAM, 1)} µs, ` +
      `gRPC ${fixed(grpc / CHUNKS_PER_STREAM, 1)} µs`,
  );
}

function printPhases(summary: Summary, out: string[]): void {
  const { manyStreams, leak } = summary.phases;
  if (manyStreams !== undefined) {
    out.push(
      `${manyStreams.streams} concurrent streams (h2c): ${manyStreams.completed} completed, ${manyStreams.errors} errors, ` +
        `${fixed(manyStreams.elapsedMs, 0)} ms; gateway peak RSS ${fixed(manyStreams.gatewayPeakRssMB, 0)} MB`,
    );
    for (const message of manyStreams.errorSamples) out.push(`  ! ${message}`);
    for (const reference of manyStreams.references) {
      out.push(
        `  the same through a fresh ${reference.name} (h2c): ${reference.completed} completed, ` +
          `${reference.errors} errors, ${fixed(reference.elapsedMs, 0)} ms; peak RSS ${fixed(reference.peakRssMB, 0)} MB`,
      );
    }
  }
  if (leak !== undefined) {
    out.push(
      `leak check (fresh gateway): ${leak.requests} requests, ${leak.errors} errors, RSS ${fixed(leak.rssAtFirstMB, 1)} MB ` +
        `after ${LEAK_FIRST}, ${fixed(leak.rssAtTotalMB, 1)} MB after ${LEAK_TOTAL} (×${fixed(leak.growth, 3)}); ` +
        `V8 heap in use ${fixed(leak.heapAtFirstMB, 1)} → ${fixed(leak.heapAtTotalMB, 1)} MB (both after a full GC), ` +
        `${fixed(leak.elapsedMs / 1000, 0)} s`,
    );
  }
}

function printMemory(summary: Summary, out: string[]): void {
  const widths = [18, 14, 12];
  out.push(row(["process", "peak RSS MiB", "RSS now MiB"], widths));
  for (const name of PROCESS_NAMES) {
    const memory = summary.memoryMiB[name];
    out.push(row([name, fixed(memory?.peak, 1), fixed(memory?.current, 1)], widths));
  }
}

/** The human-readable report. */
export function formatReport(summary: Summary): string {
  const out: string[] = [];
  printScenarios(summary, out);
  out.push(
    "  ttfb = first body byte (Responses: its first text delta); cpu µs/req = CPU time (user+sys) of the proxy process per request;",
    "  new conns = upstream connections the mock accepted during one run (keep-alive reuse keeps it near 0)",
    "",
  );
  printPhases(summary, out);
  out.push("");
  printChecks(summary, out);
  printPerChunk(summary, out);
  out.push("");
  printMemory(summary, out);
  return out.join("\n");
}
