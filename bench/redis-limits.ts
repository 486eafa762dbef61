/**
 * `node bench/redis-limits.ts`: what Redis limits cost. Two gateway processes serve the benchmark's mock vendor
 * to one key with rpm, tpm and max_parallel limits (set so high that nothing is refused, so every request runs the
 * whole admit and settle): one counting in its own memory (the embedded default), one in Redis
 * (`store.redis_url`, the local Redis on 127.0.0.1:6379 unless REDIS_URL says otherwise). The load generator of
 * `npm run bench` drives them, the order turning every round. Issue 22's targets: non-streaming req/s at c=200
 * with Redis >= 0.85 × embedded, and the p50 at c=1 no more than 0.3 ms above embedded.
 *
 * Flags: --rounds N (3), --duration-ms N (3000), --warmup-ms N (1000). Run it on a quiet machine (`uptime`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killAllNow, stopAll } from "./lib/children.ts";
import {
  type ComparedGateway,
  comparisonFlags,
  startComparedGateway,
  startLoadGenerator,
  startMockVendor,
} from "./lib/comparison.ts";
import type { LoadClient } from "./lib/load-client.ts";
import { cpuMicros } from "./lib/proc-stats.ts";
import type { RunResult } from "./lib/protocol.ts";
import { median } from "./lib/stats.ts";

const MODES = ["embedded", "redis"] as const;
type Mode = (typeof MODES)[number];
const KEY = "sk-bench-limited-key-000001";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const SCENARIOS = [
  { key: "json-c200", title: "non-stream, c=200", concurrency: 200 },
  { key: "json-c1", title: "non-stream, c=1", concurrency: 1 },
] as const;

function gatewayConfig(mockPort: number, mode: Mode): string {
  const store = mode === "redis" ? `{path: ":memory:", redis_url: "${REDIS_URL}"}` : `{path: ":memory:"}`;
  return [
    'model_config: {"bench-k5": mock}',
    "providers:",
    `  mock: {type: openai, base_url: "http://127.0.0.1:${mockPort}/v1", api_key: "bench-key-not-secret"}`,
    "server: {log_level: warn, watch_config: false}",
    "proxy: {max_retries: 0, timeout: 120}",
    "connector: {limit: 1024, limit_per_host: 256}",
    `store: ${store}`,
    "auth:",
    "  keys:",
    `    - {name: bench-${mode}, key: ${KEY}, limits: {rpm: 1000000000, tpm: 1000000000000, max_parallel: 100000}}`,
  ].join("\n");
}

function startGateway(mode: Mode, mockPort: number, directory: string): Promise<ComparedGateway> {
  return startComparedGateway({
    name: mode,
    label: `gateway (${mode} limits)`,
    config: gatewayConfig(mockPort, mode),
    directory,
    portBase: 28_800,
    slot: MODES.indexOf(mode),
    slots: MODES.length,
    env: process.env,
  });
}

interface Measured extends RunResult {
  /** The gateway's CPU per request (µs), the figure a busy machine disturbs least; Redis's own CPU is apart. */
  readonly cpuMicrosPerRequest: number;
}

async function measure(
  load: LoadClient,
  gateway: ComparedGateway,
  concurrency: number,
  durationMs: number,
): Promise<Measured> {
  const before = cpuMicros(gateway.handle.pid);
  const result = await load.run({
    url: gateway.url,
    body: JSON.stringify({ model: "bench-k5", messages: [{ role: "user", content: "Say hello" }] }),
    headers: { authorization: `Bearer ${KEY}` },
    concurrency,
    durationMs,
    timeoutMs: 10_000,
    expect: "json",
  });
  const after = cpuMicros(gateway.handle.pid);
  const cpu =
    before === undefined || after === undefined
      ? Number.NaN
      : (after - before) / Math.max(1, result.finished);
  return { ...result, cpuMicrosPerRequest: cpu };
}

async function main(): Promise<void> {
  const { rounds, durationMs, warmupMs } = comparisonFlags(process.argv.slice(2));
  const directory = mkdtempSync(join(tmpdir(), "llm-proxy-bench-redis-"));
  try {
    const mockPort = await startMockVendor();
    const gateways = {
      embedded: await startGateway("embedded", mockPort, directory),
      redis: await startGateway("redis", mockPort, directory),
    };
    const load = await startLoadGenerator();
    const lines = [
      `Per-key limits counted in memory (embedded) vs in Redis; medians of ${rounds} × ${durationMs} ms`,
      "",
      "| scenario | limits | req/s | p50 ms | p99 ms | gateway CPU µs/req | errors |",
      "|---|---|---|---|---|---|---|",
    ];
    const results: Record<string, Record<Mode, { rps: number; p50: number }>> = {};
    for (const scenario of SCENARIOS) {
      const runs: Record<Mode, Measured[]> = { embedded: [], redis: [] };
      for (const mode of MODES) await measure(load, gateways[mode], scenario.concurrency, warmupMs);
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? MODES : [...MODES].reverse();
        for (const mode of order) {
          runs[mode].push(await measure(load, gateways[mode], scenario.concurrency, durationMs));
          process.stderr.write(
            `${scenario.key} round ${round + 1} ${mode}: ${runs[mode].at(-1)?.rps.toFixed(0)} req/s\n`,
          );
        }
      }
      const row = (mode: Mode) => ({
        rps: median(runs[mode].map((run) => run.rps)),
        p50: median(runs[mode].map((run) => run.latency.p50)),
        p99: median(runs[mode].map((run) => run.latency.p99)),
        errors: runs[mode].reduce((sum, run) => sum + run.errors, 0),
        cpu: median(runs[mode].map((run) => run.cpuMicrosPerRequest)),
      });
      results[scenario.key] = { embedded: row("embedded"), redis: row("redis") };
      for (const mode of MODES) {
        const r = row(mode);
        lines.push(
          `| ${scenario.title} | ${mode} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.cpu.toFixed(0)} | ${r.errors} |`,
        );
      }
    }
    const c200 = results["json-c200"];
    const c1 = results["json-c1"];
    if (c200 !== undefined && c1 !== undefined) {
      const ratio = c200.redis.rps / c200.embedded.rps;
      const added = c1.redis.p50 - c1.embedded.p50;
      lines.push(
        "",
        `c=200 req/s, Redis / embedded: ${ratio.toFixed(3)} (target >= 0.85) ${ratio >= 0.85 ? "PASS" : "MISS"}`,
        `c=1 p50 added by Redis: ${added.toFixed(3)} ms (target <= 0.3) ${added <= 0.3 ? "PASS" : "MISS"}`,
      );
    }
    console.log(lines.join("\n"));
  } finally {
    await stopAll(3000);
    rmSync(directory, { recursive: true, force: true });
  }
}

process.once("exit", killAllNow);
process.once("SIGINT", () => process.exit(130));
main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 2;
});
