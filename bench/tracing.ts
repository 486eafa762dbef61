/**
 * `node bench/tracing.ts`: what tracing costs, measured in pairs. An untraced gateway and a traced one
 * (`sample_ratio` 0.01, 0.1 and 1.0 in turn) share one CPU and are loaded at the same time, each by its own load
 * generator at c=200 (non-streaming); the mock vendor, the load generators and the OTLP/HTTP receiver run on the
 * other CPU. Both gateways are saturated, so the scheduler gives each half of the CPU and the ratio of their req/s
 * is the ratio of their CPU per request. Why pairs: this 2-vCPU VM's speed drifts by up to 1.7× within minutes, so
 * gateways measured one after the other (as `npm run bench` does) differ by more than the 10 % the issue allows;
 * run side by side, both see the same machine. A first pair of two untraced gateways shows what the method itself
 * reads (ideally 1.00). The load generators swap gateways every round.
 *
 * Flags: --rounds N (8), --duration-ms N (3000), --warmup-ms N (6000, per pair: a traced gateway takes several
 * seconds at full load to reach its steady speed), --json FILE.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { killAllNow, pinToCpu, stopAll } from "./lib/children.ts";
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

/** The gateways: the untraced one every pair measures against, a second untraced one, and the traced ones. */
const GATEWAYS = ["off", "off-2", "0.01", "0.1", "1.0"] as const;
type GatewayName = (typeof GATEWAYS)[number];
const PAIRS: readonly GatewayName[] = ["off-2", "0.01", "0.1", "1.0"];
/** The target: at sample_ratio 0.1, at least 0.9 × the untraced req/s. */
const TARGET_AT_0_1 = 0.9;

interface Gateway extends ComparedGateway {
  readonly name: GatewayName;
}

interface Side {
  readonly result: RunResult;
  readonly cpuMicrosPerRequest: number | undefined;
}

interface PairRound {
  readonly untraced: Side;
  readonly other: Side;
  readonly spansPerRequest: number;
}

/** An OTLP/HTTP JSON receiver that counts the spans of each batch, as a collector would parse them. */
async function startReceiver(): Promise<{ server: Server; port: number; spans: () => number }> {
  let received = 0;
  const server = createServer((request, response) => {
    const pieces: Buffer[] = [];
    request.on("data", (piece: Buffer) => pieces.push(piece));
    request.on("end", () => {
      const body = JSON.parse(Buffer.concat(pieces).toString("utf8")) as {
        resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[];
      };
      for (const resource of body.resourceSpans ?? [])
        for (const scope of resource.scopeSpans ?? []) received += scope.spans?.length ?? 0;
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, spans: () => received };
}

function gatewayConfig(mockPort: number, receiverPort: number, name: GatewayName): string {
  const telemetry = name.startsWith("off")
    ? ""
    : `telemetry:\n  endpoint: "http://127.0.0.1:${receiverPort}"\n  sample_ratio: ${name}\n`;
  return [
    'model_config: {"bench-k5": mock}',
    "providers:",
    `  mock: {type: openai, base_url: "http://127.0.0.1:${mockPort}/v1", api_key: "bench-key-not-secret"}`,
    "server: {log_level: warn, watch_config: false}",
    "proxy: {max_retries: 0, timeout: 120}",
    "connector: {limit: 1024, limit_per_host: 256}",
    telemetry,
  ].join("\n");
}

async function startGateway(name: GatewayName, config: string, directory: string): Promise<Gateway> {
  const gateway = await startComparedGateway({
    name,
    label: `gateway (tracing ${name})`,
    config,
    directory,
    portBase: 28_600,
    slot: GATEWAYS.indexOf(name),
    slots: GATEWAYS.length,
    env: {
      ...Object.fromEntries(
        Object.entries(process.env).filter(([variable]) => !variable.startsWith("OTEL_")),
      ),
      // A round's spans are exported (and their CPU counted) within the round, not on the SDK's 5 s schedule.
      ...(name.startsWith("off") ? {} : { OTEL_BSP_SCHEDULE_DELAY: "200" }),
    },
  });
  return { ...gateway, name };
}

/** Loads both gateways at once for `durationMs`, each with its own load generator. */
async function loadBoth(
  loads: readonly [LoadClient, LoadClient],
  gateways: readonly [Gateway, Gateway],
  durationMs: number,
): Promise<[Side, Side]> {
  const body = JSON.stringify({ model: "bench-k5", messages: [{ role: "user", content: "Say hello" }] });
  const run = async (load: LoadClient, gateway: Gateway): Promise<Side> => {
    const before = cpuMicros(gateway.handle.pid);
    const result = await load.run({
      url: gateway.url,
      body,
      headers: {},
      concurrency: 200,
      durationMs,
      timeoutMs: 10_000,
      expect: "json",
    });
    const after = cpuMicros(gateway.handle.pid);
    return {
      result,
      cpuMicrosPerRequest:
        before === undefined || after === undefined
          ? undefined
          : (after - before) / Math.max(1, result.finished),
    };
  };
  return Promise.all([run(loads[0], gateways[0]), run(loads[1], gateways[1])]);
}

async function measurePair(
  loads: readonly [LoadClient, LoadClient],
  untraced: Gateway,
  other: Gateway,
  options: { rounds: number; durationMs: number; warmupMs: number; spans: () => number },
): Promise<PairRound[]> {
  await loadBoth(loads, [untraced, other], options.warmupMs);
  const rounds: PairRound[] = [];
  for (let round = 0; round < options.rounds; round++) {
    // Swapping the load generators every round keeps any difference between them out of the ratio.
    const swapped = round % 2 === 1;
    const spansBefore = options.spans();
    const [first, second] = await loadBoth(
      swapped ? [loads[1], loads[0]] : loads,
      swapped ? [other, untraced] : [untraced, other],
      options.durationMs,
    );
    const [untracedSide, otherSide] = swapped ? [second, first] : [first, second];
    // The batch processor sends what is left of the round's spans within its 200 ms delay.
    if (!other.name.startsWith("off")) await new Promise((resolve) => setTimeout(resolve, 400));
    rounds.push({
      untraced: untracedSide,
      other: otherSide,
      spansPerRequest: (options.spans() - spansBefore) / Math.max(1, otherSide.result.finished),
    });
    process.stderr.write(
      `${other.name} round ${round + 1}: untraced ${untracedSide.result.rps.toFixed(0)} req/s, ` +
        `${other.name} ${otherSide.result.rps.toFixed(0)} req/s\n`,
    );
  }
  return rounds;
}

function summarize(rounds: readonly PairRound[]) {
  const ratios = rounds.map((round) => round.other.result.rps / round.untraced.result.rps);
  const cpu = (pick: (round: PairRound) => Side) =>
    median(rounds.map((round) => pick(round).cpuMicrosPerRequest ?? Number.NaN));
  return {
    ratio: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    untracedRps: median(rounds.map((round) => round.untraced.result.rps)),
    otherRps: median(rounds.map((round) => round.other.result.rps)),
    untracedCpu: cpu((round) => round.untraced),
    otherCpu: cpu((round) => round.other),
    spansPerRequest: median(rounds.map((round) => round.spansPerRequest)),
    errors: rounds.reduce((sum, round) => sum + round.untraced.result.errors + round.other.result.errors, 0),
  };
}

async function main(): Promise<void> {
  const { flags, rounds, durationMs, warmupMs } = comparisonFlags(process.argv.slice(2), {
    rounds: 8,
    warmupMs: 6000,
  });
  // Everything this process starts inherits CPU 0; the gateways then move to CPU 1.
  const pinned = cpus().length >= 2 && pinToCpu(process, 0);
  const directory = mkdtempSync(join(tmpdir(), "llm-proxy-bench-tracing-"));
  const receiver = await startReceiver();
  try {
    const mockPort = await startMockVendor();
    const gateways = new Map<GatewayName, Gateway>();
    for (const name of GATEWAYS) {
      const gateway = await startGateway(name, gatewayConfig(mockPort, receiver.port, name), directory);
      if (pinned) pinToCpu(gateway.handle, 1);
      gateways.set(name, gateway);
    }
    const gateway = (name: GatewayName): Gateway => {
      const found = gateways.get(name);
      if (found === undefined) throw new Error(`gateway ${name} did not start`);
      return found;
    };
    const loads: [LoadClient, LoadClient] = [await startLoadGenerator(), await startLoadGenerator()];
    const summary: Partial<Record<GatewayName, ReturnType<typeof summarize>>> = {};
    for (const name of PAIRS) {
      const measured = await measurePair(loads, gateway("off"), gateway(name), {
        rounds,
        durationMs,
        warmupMs,
        spans: receiver.spans,
      });
      summary[name] = summarize(measured);
    }
    console.log(formatReport(summary, rounds, durationMs, pinned));
    const jsonFile = flags.get("json");
    if (jsonFile !== undefined) writeFileSync(jsonFile, JSON.stringify({ pinned, summary }, null, 2));
  } finally {
    await stopAll(3000);
    receiver.server.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

function formatReport(
  summary: Partial<Record<GatewayName, ReturnType<typeof summarize>>>,
  rounds: number,
  durationMs: number,
  pinned: boolean,
): string {
  const lines = [
    `Tracing in pairs: each gateway side by side with an untraced one on one CPU (pinned: ${pinned}), non-stream ` +
      `c=200 each; medians of ${rounds} × ${durationMs} ms`,
    "",
    "| paired with untraced | req/s untraced / paired | ratio (min–max) | CPU µs/req untraced / paired " +
      "| spans/req | errors |",
    "|---|---|---|---|---|---|",
  ];
  for (const name of PAIRS) {
    const row = summary[name];
    if (row === undefined) continue;
    const label = name === "off-2" ? "untraced (the method's own reading)" : `sample_ratio ${name}`;
    lines.push(
      `| ${label} | ${row.untracedRps.toFixed(0)} / ${row.otherRps.toFixed(0)} | ${row.ratio.toFixed(3)} ` +
        `(${row.ratioMin.toFixed(3)}–${row.ratioMax.toFixed(3)}) | ${row.untracedCpu.toFixed(0)} / ` +
        `${row.otherCpu.toFixed(0)} | ${row.spansPerRequest.toFixed(2)} | ${row.errors} |`,
    );
  }
  const atTenth = summary["0.1"];
  if (atTenth !== undefined) {
    const met = atTenth.ratio >= TARGET_AT_0_1 ? "ok" : "MISS";
    lines.push(
      "",
      `target: sample_ratio 0.1 req/s ≥ ${TARGET_AT_0_1} × untraced: ${atTenth.ratio.toFixed(3)} ${met}`,
    );
  }
  return lines.join("\n");
}

process.once("exit", killAllNow);
process.once("SIGINT", () => process.exit(130));
main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 2;
});
