/**
 * `npm run bench`: the gateway beside a bare node:http + undici pass-through and direct calls, against a mock
 * OpenAI-compatible vendor on loopback, every process separate. After a warm-up, each round runs every scenario
 * against direct → pass-through → gateway in turn (interleaved, so drift on a shared machine hits all three
 * alike); the report gives medians across rounds, CPU per request (/proc utime+stime deltas) and peak RSS.
 *
 * Flags: --quick (2 rounds × 1 s), --rounds N, --duration-ms N, --warmup-ms N, --only key,key (scenario keys),
 * --pin (taskset: proxies on CPU 0, mock and load generator on CPU 1), --cpu-prof (V8 profile of the gateway),
 * --passthrough-mode dispatch|stream|request (how the baseline copies bytes; see passthrough.ts), --json FILE, --port-base N (first port tried for the gateway), --check (exit 1 when a gated
 * issue-8 target is missed). Env BENCH_ROUNDS / BENCH_DURATION_MS / BENCH_WARMUP_MS set the same defaults.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { killAllNow, stopAll } from "./lib/children.ts";
import { type Fleet, removeConfigDir, startFleet, upstreamConnections } from "./lib/fleet.ts";
import { cpuMicros, cpuResolutionMicros, memoryMiB } from "./lib/proc-stats.ts";
import { type RunSpec, readFlags } from "./lib/protocol.ts";
import {
  formatReport,
  PROCESS_NAMES,
  type ProcessName,
  type Sample,
  type Samples,
  summarize,
} from "./lib/report.ts";
import { requestBody, SCENARIOS, type Scenario, TARGETS, type TargetName } from "./lib/scenarios.ts";
import { smokeCheck } from "./lib/smoke.ts";

interface Options {
  readonly rounds: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly scenarios: readonly Scenario[];
  readonly check: boolean;
  readonly pin: boolean;
  readonly cpuProf: boolean;
  readonly jsonFile: string | undefined;
  readonly portBase: number;
  readonly passthroughMode: string;
}

const COUNT_RUN_TIMEOUT_MS = 15_000;

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
  const scenarios = only === undefined ? SCENARIOS : SCENARIOS.filter((s) => only.includes(s.key));
  if (scenarios.length === 0)
    throw new Error(`--only matches no scenario (have: ${SCENARIOS.map((s) => s.key).join(", ")})`);
  return {
    rounds: Math.max(1, Math.round(num("rounds", "BENCH_ROUNDS", 5, 2))),
    durationMs: num("duration-ms", "BENCH_DURATION_MS", 3000, 1000),
    warmupMs: num("warmup-ms", "BENCH_WARMUP_MS", 2000, 500),
    scenarios,
    check: flags.has("check"),
    pin: flags.has("pin"),
    cpuProf: flags.has("cpu-prof"),
    jsonFile: flags.get("json"),
    portBase: num("port-base", "BENCH_PORT_BASE", 28400, 28400),
    passthroughMode: flags.get("passthrough-mode") ?? "dispatch",
  };
}

function specFor(scenario: Scenario, url: string, durationMs: number): RunSpec {
  const timing =
    scenario.requests === undefined
      ? { durationMs, timeoutMs: 10_000 }
      : { requests: scenario.requests, timeoutMs: COUNT_RUN_TIMEOUT_MS };
  return {
    url,
    body: requestBody(scenario),
    headers: {},
    concurrency: scenario.concurrency,
    ...timing,
    expect: scenario.stream ? "sse" : "json",
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
  const connectionsBefore = await upstreamConnections(fleet);
  const before = cpuSnapshot(fleet);
  const result = await fleet.load.run(specFor(scenario, fleet.urls[target], durationMs));
  const after = cpuSnapshot(fleet);
  const connectionsAfter = await upstreamConnections(fleet);
  const cpu = {} as Record<ProcessName, number | undefined>;
  for (const name of PROCESS_NAMES) {
    const start = before[name];
    const end = after[name];
    cpu[name] = start === undefined || end === undefined ? undefined : end - start;
  }
  // Let closing sockets and GC settle so one run's tail does not land in the next one's CPU figures.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const upstreamConnectionsOpened =
    connectionsBefore === undefined || connectionsAfter === undefined
      ? undefined
      : connectionsAfter - connectionsBefore;
  return { round, result, cpuMicros: cpu, upstreamConnectionsOpened } satisfies Sample;
}

function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

async function runRounds(fleet: Fleet, options: Options): Promise<Samples> {
  if (options.warmupMs > 0) {
    progress(`warm-up: ${options.warmupMs} ms per scenario and target`);
    for (const scenario of options.scenarios) {
      for (const target of TARGETS) await measure(fleet, scenario, target, options.warmupMs, -1);
    }
  }
  const samples: Samples = new Map();
  for (let round = 0; round < options.rounds; round++) {
    for (const scenario of options.scenarios) {
      const byTarget = samples.get(scenario.key) ?? new Map<TargetName, Sample[]>();
      samples.set(scenario.key, byTarget);
      for (const target of TARGETS) {
        const sample = await measure(fleet, scenario, target, options.durationMs, round);
        byTarget.set(target, [...(byTarget.get(target) ?? []), sample]);
        const r = sample.result;
        progress(
          `round ${round + 1}/${options.rounds} ${scenario.key.padEnd(10)} ${target.padEnd(11)} ` +
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
    pinned: fleet.pinned,
    passthroughMode: options.passthroughMode,
    cpuResolutionUs: cpuResolutionMicros(),
    command: `node bench/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
  };
}

function plannedMs(options: Options): number {
  const perRun = (s: Scenario, ms: number): number =>
    s.requests === undefined ? ms + 1000 : COUNT_RUN_TIMEOUT_MS;
  const round = (ms: number): number =>
    options.scenarios.reduce((sum, s) => sum + TARGETS.length * perRun(s, ms), 0);
  return 60_000 + round(options.warmupMs) + options.rounds * round(options.durationMs);
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
    progress(`starting mock upstream, pass-through, gateway and load generator (config in ${configDir})`);
    const fleet = await startFleet({
      gatewayPortBase: options.portBase,
      pin: options.pin,
      passthroughMode: options.passthroughMode,
      cpuProfDir,
      configDir,
      startupTimeoutMs: 20_000,
    });
    progress(
      `targets: ${JSON.stringify(fleet.urls)}${options.pin && !fleet.pinned ? " (pinning failed)" : ""}`,
    );
    for (const scenario of options.scenarios) {
      if (scenario.requests !== undefined) continue;
      for (const target of TARGETS) await smokeCheck(target, fleet.urls[target], scenario);
    }
    const samples = await runRounds(fleet, options);
    const memory: Partial<Record<ProcessName, { peak: number; current: number }>> = {};
    for (const name of PROCESS_NAMES) {
      const value = memoryMiB(fleet.processes[name].pid);
      if (value !== undefined) memory[name] = value;
    }
    const summary = summarize(samples, options.rounds, meta(options, fleet, loadBefore), memory);
    const m = summary.meta;
    console.log(
      `\nllm-proxy bench: ${m.rounds} rounds × ${m.durationMs} ms after ${m.warmupMs} ms warm-up; medians across rounds` +
        `\nnode ${m.node}, ${m.cpus}, pinned: ${m.pinned}, load average before ${JSON.stringify(m.loadavgBefore)}, ` +
        `revision ${m.revision}\n`,
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
