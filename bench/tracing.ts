/**
 * `node bench/tracing.ts`: what tracing costs. Three gateway processes serve the benchmark's mock vendor: one with
 * tracing off (no `telemetry` section: the SDK is not loaded), one tracing every request (`sample_ratio: 1.0`) and
 * one tracing one in ten (`0.1`), exporting the sampled spans over OTLP/HTTP to a receiver on loopback (in this
 * process; it parses each batch and counts spans, as a collector would). The load generator of `npm run bench`
 * drives them; the order of the modes turns every round so drift on a shared machine hits all. The report gives,
 * per scenario, the median req/s, latency and gateway CPU per request, and the spans received per request (3 per
 * sampled request: HTTP server, core, attempt = upstream client).
 *
 * Flags: --rounds N (3), --duration-ms N (3000), --warmup-ms N (1000), --json FILE.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
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

const MODES = ["off", "1.0", "0.1"] as const;
type Mode = (typeof MODES)[number];
type TracedMode = Exclude<Mode, "off">;

interface Scenario {
  readonly key: string;
  readonly title: string;
  readonly model: string;
  readonly stream: boolean;
  readonly concurrency: number;
}

const SCENARIOS: readonly Scenario[] = [
  { key: "sse-c50", title: "stream 50 chunks, c=50", model: "bench-k50", stream: true, concurrency: 50 },
  { key: "json-c50", title: "non-stream, c=50", model: "bench-k5", stream: false, concurrency: 50 },
  { key: "sse-c1", title: "stream 50 chunks, c=1", model: "bench-k50", stream: true, concurrency: 1 },
];

interface Measured {
  readonly result: RunResult;
  readonly cpuMicrosPerRequest: number | undefined;
  readonly spansPerRequest: number;
}

/** An OTLP/HTTP JSON receiver that counts spans per mode (each traced gateway posts to `/<mode>/v1/traces`). */
async function startReceiver(): Promise<{ server: Server; port: number; spans: (mode: Mode) => number }> {
  const received = new Map<string, number>();
  const server = createServer((request, response) => {
    const mode = request.url?.split("/")[1] ?? "";
    let spans = 0;
    const pieces: Buffer[] = [];
    request.on("data", (piece: Buffer) => pieces.push(piece));
    request.on("end", () => {
      const body = JSON.parse(Buffer.concat(pieces).toString("utf8")) as {
        resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[];
      };
      for (const resource of body.resourceSpans ?? [])
        for (const scope of resource.scopeSpans ?? []) spans += scope.spans?.length ?? 0;
      received.set(mode, (received.get(mode) ?? 0) + spans);
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    spans: (mode) => received.get(mode) ?? 0,
  };
}

function gatewayConfig(mockPort: number, traced: { port: number; mode: TracedMode } | undefined): string {
  const models = [...new Set(SCENARIOS.map((scenario) => scenario.model))];
  const telemetry =
    traced === undefined
      ? ""
      : `telemetry:\n  endpoint: "http://127.0.0.1:${traced.port}/${traced.mode}"\n  sample_ratio: ${traced.mode}\n`;
  return [
    "model_config:",
    ...models.map((model) => `  "${model}": mock`),
    "providers:",
    `  mock: {type: openai, base_url: "http://127.0.0.1:${mockPort}/v1", api_key: "bench-key-not-secret"}`,
    "server: {log_level: warn, watch_config: false}",
    "proxy: {max_retries: 0, timeout: 120}",
    "connector: {limit: 1024, limit_per_host: 256}",
    telemetry,
  ].join("\n");
}

interface Gateway extends ComparedGateway {
  readonly mode: Mode;
}

async function startGateway(mode: Mode, config: string, directory: string): Promise<Gateway> {
  const gateway = await startComparedGateway({
    name: mode,
    label: `gateway (tracing ${mode})`,
    config,
    directory,
    portBase: 28_600,
    slot: MODES.indexOf(mode),
    slots: MODES.length,
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("OTEL_"))),
      // A run's spans are exported (and their CPU counted) within the run, not on the SDK's 5 s schedule.
      ...(mode === "off" ? {} : { OTEL_BSP_SCHEDULE_DELAY: "200" }),
    },
  });
  return { ...gateway, mode };
}

async function measure(
  load: LoadClient,
  gateway: Gateway,
  scenario: Scenario,
  durationMs: number,
  spans: (mode: Mode) => number,
): Promise<Measured> {
  const cpuBefore = cpuMicros(gateway.handle.pid);
  const spansBefore = spans(gateway.mode);
  const result = await load.run({
    url: gateway.url,
    body: JSON.stringify({
      model: scenario.model,
      messages: [{ role: "user", content: "Say hello" }],
      stream: scenario.stream,
    }),
    headers: {},
    concurrency: scenario.concurrency,
    durationMs,
    timeoutMs: 10_000,
    expect: scenario.stream ? "sse" : "json",
  });
  const cpuAfter = cpuMicros(gateway.handle.pid);
  // With tracing on, let the batch processor export the rest of this run's spans (it sends every 512 spans, or
  // after its 200 ms delay) before counting, and before the next run shares the CPU with it.
  if (gateway.mode !== "off") await new Promise((resolve) => setTimeout(resolve, 400));
  const finished = Math.max(1, result.finished);
  return {
    result,
    cpuMicrosPerRequest:
      cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / finished,
    spansPerRequest: (spans(gateway.mode) - spansBefore) / finished,
  };
}

function summarize(runs: readonly Measured[]) {
  return {
    rps: median(runs.map((run) => run.result.rps)),
    p50: median(runs.map((run) => run.result.latency.p50)),
    p99: median(runs.map((run) => run.result.latency.p99)),
    cpuMicrosPerRequest: median(runs.map((run) => run.cpuMicrosPerRequest ?? Number.NaN)),
    spansPerRequest: median(runs.map((run) => run.spansPerRequest)),
    errors: runs.reduce((sum, run) => sum + run.result.errors, 0),
  };
}

async function main(): Promise<void> {
  const { flags, rounds, durationMs, warmupMs } = comparisonFlags(process.argv.slice(2));
  const directory = mkdtempSync(join(tmpdir(), "llm-proxy-bench-tracing-"));
  const receiver = await startReceiver();
  try {
    const mockPort = await startMockVendor();
    const gateways: Record<Mode, Gateway> = {
      off: await startGateway("off", gatewayConfig(mockPort, undefined), directory),
      "1.0": await startGateway(
        "1.0",
        gatewayConfig(mockPort, { port: receiver.port, mode: "1.0" }),
        directory,
      ),
      "0.1": await startGateway(
        "0.1",
        gatewayConfig(mockPort, { port: receiver.port, mode: "0.1" }),
        directory,
      ),
    };
    const load = await startLoadGenerator();
    const summary: Record<string, Record<Mode, ReturnType<typeof summarize>>> = {};
    for (const scenario of SCENARIOS) {
      const runs: Record<Mode, Measured[]> = { off: [], "1.0": [], "0.1": [] };
      for (const mode of MODES) await measure(load, gateways[mode], scenario, warmupMs, receiver.spans);
      for (let round = 0; round < rounds; round++) {
        const order = [...MODES.slice(round % MODES.length), ...MODES.slice(0, round % MODES.length)];
        for (const mode of order) {
          runs[mode].push(await measure(load, gateways[mode], scenario, durationMs, receiver.spans));
          process.stderr.write(
            `${scenario.key} round ${round + 1} tracing ${mode}: ${runs[mode].at(-1)?.result.rps.toFixed(0)} req/s\n`,
          );
        }
      }
      summary[scenario.key] = {
        off: summarize(runs.off),
        "1.0": summarize(runs["1.0"]),
        "0.1": summarize(runs["0.1"]),
      };
    }
    console.log(formatReport(summary, rounds, durationMs));
    const jsonFile = flags.get("json");
    if (jsonFile !== undefined) writeFileSync(jsonFile, JSON.stringify(summary, null, 2));
  } finally {
    await stopAll(3000);
    receiver.server.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

function formatReport(
  summary: Record<string, Record<Mode, ReturnType<typeof summarize>>>,
  rounds: number,
  durationMs: number,
): string {
  const lines = [
    `Tracing off vs on (sample_ratio 1.0 and 0.1, OTLP/HTTP JSON to a loopback receiver); medians of ${rounds} × ${durationMs} ms`,
    "",
    "| scenario | tracing | req/s | Δ req/s | p50 ms | p99 ms | gateway CPU µs/req | spans/req | errors |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const scenario of SCENARIOS) {
    const entry = summary[scenario.key];
    if (entry === undefined) continue;
    for (const mode of MODES) {
      const row = entry[mode];
      const delta =
        mode === "off" ? "" : `${(((row.rps - entry.off.rps) / entry.off.rps) * 100).toFixed(1)} %`;
      lines.push(
        `| ${scenario.title} | ${mode} | ${row.rps.toFixed(0)} | ${delta} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${row.cpuMicrosPerRequest.toFixed(0)} | ${row.spansPerRequest.toFixed(2)} | ${row.errors} |`,
      );
    }
  }
  return lines.join("\n");
}

process.once("exit", killAllNow);
process.once("SIGINT", () => process.exit(130));
main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 2;
});
