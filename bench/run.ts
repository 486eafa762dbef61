/**
 * `npm run bench`: the gateway beside a bare node:http + undici pass-through and direct calls, against a mock
 * OpenAI-compatible vendor on loopback, every process separate. After a warm-up, each round runs every scenario
 * against its targets in turn (direct → pass-through → Fastify floor → gateway → gateway traced at sample_ratio 1.0
 * → at 0.1: interleaved, so drift on a shared machine hits all alike; the floor and the traced gateways in the two
 * throughput scenarios only); gRPC scenarios run against the gateway only. Then two whole-run phases: 10,000 concurrent streams
 * (through two fresh references, then the gateway), and a leak check over 200,000 requests (./lib/phases.ts). The
 * report gives medians
 * across rounds, CPU per request (/proc utime+stime deltas), peak RSS, and every issue-8 target.
 *
 * Flags: --quick (2 rounds × 1 s), --rounds N, --duration-ms N, --warmup-ms N, --prerun-ms N (an unmeasured run
 * against the same target just before each measured one; 0 = none), --only key,key (scenario keys and
 * the phases `many-streams`, `leak`), --skip key,key (the same keys, left out),
 * --pin (taskset: proxies on CPU 0, mock and load generator on CPU 1), --cpu-prof (V8 profile of the gateway),
 * --passthrough-mode dispatch|stream|request (how the baseline copies bytes; see passthrough.ts), --json FILE,
 * --port-base N (first port tried for the gateway), --allocator auto|jemalloc|glibc (the proxies' malloc: see
 * ./lib/allocator.ts; auto = jemalloc when installed), --gateway-node-flags="FLAGS" (node/V8 flags for the
 * gateways only, e.g. "--max-semi-space-size=16"; the report names them), --check (exit 1 when a gated
 * issue-8 target is missed). Env BENCH_ROUNDS / BENCH_DURATION_MS / BENCH_WARMUP_MS set the same defaults.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { type Allocator, type AllocatorChoice, chooseAllocator } from "./lib/allocator.ts";
import { killAllNow, stopAll } from "./lib/children.ts";
import {
  type Fleet,
  type MockStats,
  mockStats,
  receiverPath,
  removeConfigDir,
  startFleet,
} from "./lib/fleet.ts";
import { GRPC_STREAM_PATH, GRPC_UNARY_PATH, grpcRequestBody } from "./lib/grpc-body.ts";
import { runLeakCheck, runManyStreams } from "./lib/phases.ts";
import { cpuMicros, cpuResolutionMicros, memoryMiB } from "./lib/proc-stats.ts";
import { type RunSpec, readFlags } from "./lib/protocol.ts";
import {
  formatReport,
  type PhaseResults,
  PROCESS_NAMES,
  type ProcessName,
  type Sample,
  type Samples,
  summarize,
} from "./lib/report.ts";
import {
  apiPath,
  requestBody,
  SCENARIOS,
  type Scenario,
  type TargetName,
  TRACED_TARGETS,
} from "./lib/scenarios.ts";
import { smokeCheck } from "./lib/smoke.ts";

const PHASES = ["many-streams", "leak"] as const;
type Phase = (typeof PHASES)[number];

interface Options {
  readonly rounds: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly prerunMs: number;
  readonly scenarios: readonly Scenario[];
  readonly phases: readonly Phase[];
  readonly check: boolean;
  readonly pin: boolean;
  readonly cpuProf: boolean;
  readonly jsonFile: string | undefined;
  readonly portBase: number;
  readonly passthroughMode: string;
  readonly allocator: Allocator;
  readonly gatewayNodeFlags: readonly string[];
}

const COUNT_RUN_TIMEOUT_MS = 15_000;

function allocatorChoice(raw: string | undefined): AllocatorChoice {
  if (raw === undefined || raw === "auto" || raw === "jemalloc" || raw === "glibc") return raw ?? "auto";
  throw new Error(`--allocator must be auto, jemalloc or glibc, got ${raw}`);
}

function parseOptions(argv: readonly string[]): Options {
  const flags = readFlags(argv);
  const quick = flags.has("quick");
  const num = (flag: string, env: string, normal: number, fast: number): number => {
    const raw = flags.get(flag) ?? process.env[env];
    const value = raw === undefined ? (quick ? fast : normal) : Number(raw);
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`--${flag} must be a non-negative number, got ${raw}`);
    return value;
  };
  const only = flags.get("only")?.split(",");
  const skip = flags.get("skip")?.split(",") ?? [];
  const wanted = (key: string): boolean => (only === undefined || only.includes(key)) && !skip.includes(key);
  const scenarios = SCENARIOS.filter((s) => wanted(s.key));
  const phases = PHASES.filter(wanted);
  if (scenarios.length === 0 && phases.length === 0) {
    const keys = [...SCENARIOS.map((s) => s.key), ...PHASES].join(", ");
    throw new Error(`--only/--skip leave nothing to run (have: ${keys})`);
  }
  return {
    rounds: Math.max(1, Math.round(num("rounds", "BENCH_ROUNDS", 5, 2))),
    durationMs: num("duration-ms", "BENCH_DURATION_MS", 3000, 1000),
    warmupMs: num("warmup-ms", "BENCH_WARMUP_MS", 2000, 500),
    prerunMs: num("prerun-ms", "BENCH_PRERUN_MS", 1000, 250),
    scenarios,
    phases,
    check: flags.has("check"),
    pin: flags.has("pin"),
    cpuProf: flags.has("cpu-prof"),
    jsonFile: flags.get("json"),
    portBase: num("port-base", "BENCH_PORT_BASE", 28400, 28400),
    passthroughMode: flags.get("passthrough-mode") ?? "dispatch",
    allocator: chooseAllocator(allocatorChoice(flags.get("allocator"))),
    gatewayNodeFlags: flags.get("gateway-node-flags")?.split(" ").filter(Boolean) ?? [],
  };
}

function specFor(scenario: Scenario, url: string, durationMs: number): RunSpec {
  const timing =
    scenario.requests === undefined
      ? { durationMs, timeoutMs: 10_000 }
      : { requests: scenario.requests, timeoutMs: COUNT_RUN_TIMEOUT_MS };
  const grpc = scenario.protocol === "grpc";
  const target = new URL(url);
  if (grpc) target.pathname = scenario.stream ? GRPC_STREAM_PATH : GRPC_UNARY_PATH;
  target.pathname = apiPath(scenario) ?? target.pathname;
  return {
    url: target.href,
    body: grpc ? grpcRequestBody(scenario.model) : requestBody(scenario),
    protocol: scenario.protocol ?? "http1",
    headers: scenario.apiKey === undefined ? {} : { authorization: `Bearer ${scenario.apiKey}` },
    concurrency: scenario.concurrency,
    ...timing,
    expect:
      scenario.api === "messages"
        ? "messages-sse"
        : scenario.api === "responses"
          ? "responses-sse"
          : scenario.stream
            ? "sse"
            : "json",
  };
}

function cpuSnapshot(fleet: Fleet): Record<ProcessName, number | undefined> {
  const snapshot = {} as Record<ProcessName, number | undefined>;
  for (const name of PROCESS_NAMES) snapshot[name] = cpuMicros(fleet.processes[name].pid);
  return snapshot;
}

async function measure(
  fleet: Fleet,
  scenario: Scenario,
  target: TargetName,
  durationMs: number,
  round: number,
) {
  const statsBefore = await mockStats(fleet);
  const before = cpuSnapshot(fleet);
  const result = await fleet.load.run(specFor(scenario, fleet.urls[target], durationMs));
  const after = cpuSnapshot(fleet);
  // A traced gateway exports its spans in batches (every 512 spans, else every 5 s): count this run's.
  const traced = TRACED_TARGETS[target] !== undefined;
  if (traced) await new Promise((resolve) => setTimeout(resolve, 300));
  const statsAfter = await mockStats(fleet);
  const cpu = {} as Record<ProcessName, number | undefined>;
  for (const name of PROCESS_NAMES) {
    const start = before[name];
    const end = after[name];
    cpu[name] = start === undefined || end === undefined ? undefined : end - start;
  }
  // Let closing sockets and GC settle so one run's tail does not land in the next one's CPU figures.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const delta = (pick: (stats: MockStats) => number): number | undefined =>
    statsBefore === undefined || statsAfter === undefined ? undefined : pick(statsAfter) - pick(statsBefore);
  return {
    round,
    result,
    cpuMicros: cpu,
    upstreamConnectionsOpened: delta((stats) => stats.connections),
    spansReceived: traced ? delta((stats) => stats.spansByReceiver[receiverPath(target)] ?? 0) : undefined,
  } satisfies Sample;
}

function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

async function runRounds(fleet: Fleet, options: Options): Promise<Samples> {
  if (options.warmupMs > 0) {
    progress(`warm-up: ${options.warmupMs} ms per scenario and target`);
    for (const scenario of options.scenarios) {
      for (const target of scenario.targets) await measure(fleet, scenario, target, options.warmupMs, -1);
    }
  }
  const samples: Samples = new Map();
  for (let round = 0; round < options.rounds; round++) {
    for (const scenario of options.scenarios) {
      const byTarget = samples.get(scenario.key) ?? new Map<TargetName, Sample[]>();
      samples.set(scenario.key, byTarget);
      for (const target of scenario.targets) {
        // Unmeasured: no target starts a measured run straight after sitting idle while the others ran (the traced
        // gateways serve two scenarios of seven).
        if (options.prerunMs > 0 && scenario.requests === undefined) {
          await fleet.load.run(specFor(scenario, fleet.urls[target], options.prerunMs));
        }
        const sample = await measure(fleet, scenario, target, options.durationMs, round);
        byTarget.set(target, [...(byTarget.get(target) ?? []), sample]);
        const r = sample.result;
        progress(
          `round ${round + 1}/${options.rounds} ${scenario.key.padEnd(16)} ${target.padEnd(18)} ` +
            `${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.latency.p50.toFixed(3)} ms  ttfb ${r.ttfb.p50.toFixed(3)} ms` +
            (r.errors > 0 ? `  errors ${r.errors}` : ""),
        );
      }
    }
  }
  return samples;
}

function gitRevision(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      encoding: "utf8",
      timeout: 2000,
    }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], {
      encoding: "utf8",
      timeout: 2000,
    }).trim();
    return dirty === "" ? head : `${head} + uncommitted src changes`;
  } catch {
    return "unknown";
  }
}

function meta(options: Options, fleet: Fleet, loadBefore: number[]): Record<string, unknown> {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${cpuList.length} × ${cpuList[0]?.model ?? "unknown"}`,
    loadavgBefore: loadBefore.map((v) => Number(v.toFixed(2))),
    loadavgAfter: loadavg().map((v) => Number(v.toFixed(2))),
    revision: gitRevision(),
    rounds: options.rounds,
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
    prerunMs: options.prerunMs,
    pinned: fleet.pinned,
    passthroughMode: options.passthroughMode,
    allocator: options.allocator.description,
    gatewayNodeFlags: options.gatewayNodeFlags.join(" ") || "none",
    cpuResolutionUs: cpuResolutionMicros(),
    command: `node bench/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
  };
}

/** The run's time bound: generous per run, plus the phases' own bounds. */
function plannedMs(options: Options): number {
  const perRun = (s: Scenario, ms: number): number =>
    s.requests === undefined ? ms + 1500 : COUNT_RUN_TIMEOUT_MS;
  const round = (ms: number): number =>
    options.scenarios.reduce((sum, s) => sum + s.targets.length * perRun(s, ms), 0);
  const phases =
    (options.phases.includes("many-streams") ? 150_000 : 0) + (options.phases.includes("leak") ? 240_000 : 0);
  const measured = round(options.durationMs) + (options.prerunMs > 0 ? round(options.prerunMs) : 0);
  return 60_000 + round(options.warmupMs) + options.rounds * measured + phases;
}

async function runPhases(fleet: Fleet, options: Options): Promise<PhaseResults> {
  let results: PhaseResults = {};
  if (options.phases.includes("leak")) {
    progress("leak check: 200,000 requests through a fresh gateway");
    results = { ...results, leak: await runLeakCheck(fleet, progress) };
  }
  if (options.phases.includes("many-streams")) {
    progress(
      "many streams: 10,000 concurrent SSE streams (h2c), through two fresh references, then the gateway",
    );
    results = { ...results, manyStreams: await runManyStreams(fleet) };
  }
  return results;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const loadBefore = loadavg();
  const configDir = mkdtempSync(join(tmpdir(), "llm-proxy-bench-"));
  // Also on SIGINT and fatal errors, which leave through process.exit.
  process.once("exit", () => removeConfigDir(configDir));
  const cpuProfDir = options.cpuProf
    ? join(configDir, "..", `llm-proxy-bench-prof-${process.pid}`)
    : undefined;
  if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true });
  const deadline = setTimeout(() => {
    progress(`bench: giving up after ${plannedMs(options)} ms`);
    killAllNow();
    process.exit(2);
  }, plannedMs(options));
  try {
    progress(
      `starting mock upstream, pass-through, Fastify floor, gateways (untraced, traced 1.0 and 0.1) and load generator (config in ${configDir})`,
    );
    const fleet = await startFleet({
      gatewayPortBase: options.portBase,
      pin: options.pin,
      passthroughMode: options.passthroughMode,
      cpuProfDir,
      configDir,
      startupTimeoutMs: 20_000,
      allocator: options.allocator,
      gatewayNodeFlags: options.gatewayNodeFlags,
    });
    progress(
      `targets: ${JSON.stringify(fleet.urls)}${options.pin && !fleet.pinned ? " (pinning failed)" : ""}`,
    );
    for (const scenario of options.scenarios) {
      if (scenario.requests !== undefined) continue;
      for (const target of scenario.targets) await smokeCheck(target, fleet.urls[target], scenario);
    }
    const samples = await runRounds(fleet, options);
    // Last: the 10,000 streams set the gateway's peak RSS, which the report reads at the end.
    const phases = await runPhases(fleet, options);
    const memory: Partial<Record<ProcessName, { peak: number; current: number }>> = {};
    for (const name of PROCESS_NAMES) {
      const value = memoryMiB(fleet.processes[name].pid);
      if (value !== undefined) memory[name] = value;
    }
    const summary = summarize(samples, options.rounds, meta(options, fleet, loadBefore), memory, phases);
    const m = summary.meta;
    console.log(
      `\nllm-proxy bench: ${m.rounds} rounds × ${m.durationMs} ms (each after an unmeasured ${m.prerunMs} ms run) after ` +
        `${m.warmupMs} ms warm-up; medians across rounds; ` +
        `phases: ${options.phases.join(", ") || "none"}` +
        `\nnode ${m.node}, ${m.cpus}, pinned: ${m.pinned}, load average before ${JSON.stringify(m.loadavgBefore)}, ` +
        `revision ${m.revision}\nproxies' malloc: ${m.allocator}; gateways' extra node flags: ${m.gatewayNodeFlags}\n`,
    );
    console.log(formatReport(summary));
    console.log(`\nJSON summary:\n${JSON.stringify(summary, null, 2)}`);
    if (options.jsonFile !== undefined)
      writeFileSync(options.jsonFile, `${JSON.stringify(summary, null, 2)}\n`);
    await stopAll(5000);
    if (cpuProfDir !== undefined) console.log(`\ngateway CPU profile written to ${cpuProfDir}`);
    const missed = summary.checks.filter((check) => check.gated && !check.pass && !check.skipped);
    if (options.check && missed.length > 0) {
      console.log(
        `\n--check: ${missed.length} target(s) missed: ${missed.map((check) => check.id).join(", ")}`,
      );
      return 1;
    }
    return 0;
  } finally {
    clearTimeout(deadline);
    await stopAll(5000);
    removeConfigDir(configDir);
  }
}

process.on("exit", killAllNow);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`bench: ${signal}, stopping children`);
    void stopAll(2000).finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    progress(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
    killAllNow();
    process.exit(2);
  },
);
