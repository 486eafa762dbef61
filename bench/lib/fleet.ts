/**
 * Starts the benchmark's processes: the mock vendor, the bare pass-through, the Fastify floor (the pass-through
 * served by a minimal Fastify app), the gateway (with a temporary config that routes the bench models to the
 * mock), the two traced gateways (sampling 1.0 and 0.1), the gateway with its spend log off, and the load
 * generator, each in its own process, and waits until each is ready.
 */
import { rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Allocator } from "./allocator.ts";
import {
  type ChildHandle,
  forkWithIpc,
  pinToCpu,
  spawnQuiet,
  spawnReporting,
  waitForHttp,
} from "./children.ts";
import { connectLoad, type LoadClient } from "./load-client.ts";
import type { ProcessName } from "./report.ts";
import {
  BENCH_FREE_KEY,
  BENCH_LIMITED_KEY,
  BENCH_MODELS,
  TARGETS,
  type TargetName,
  TRACED_TARGETS,
} from "./scenarios.ts";

const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));
const REPO_DIR = fileURLToPath(new URL("../..", import.meta.url));

export interface FleetOptions {
  /** First port tried for the gateway (below 32768, away from the OS's ephemeral range). */
  readonly gatewayPortBase: number;
  /** Pin the proxies to CPU 0 and the mock and load generator to CPU 1. */
  readonly pin: boolean;
  /** Write a V8 CPU profile of the gateway into this directory (on exit). */
  readonly cpuProfDir: string | undefined;
  /** How the pass-through copies the answer back (see passthrough.ts --mode). */
  readonly passthroughMode: string;
  /** Directory for the temporary gateway config (the caller removes it). */
  readonly configDir: string;
  readonly startupTimeoutMs: number;
  /** The malloc both proxies run on (see allocator.ts). */
  readonly allocator: Allocator;
  /** Extra node/V8 flags for the gateways only (`--gateway-node-flags`), to measure a tuning in the same run. */
  readonly gatewayNodeFlags: readonly string[];
}

/** The running processes and where to reach each target. */
export interface Fleet {
  readonly urls: Readonly<Record<TargetName, string>>;
  readonly processes: Readonly<Record<ProcessName, ChildHandle>>;
  readonly load: LoadClient;
  readonly pinned: boolean;
  /**
   * Starts one more gateway like the measured one (the leak check wants a fresh process), with the inspector on
   * `inspectPort` when given (to ask for a full garbage collection before reading RSS).
   */
  startExtraGateway(name: string, inspectPort?: number): Promise<{ handle: ChildHandle; url: string }>;
  /** Starts one more pass-through (fresh, for a phase) with extra flags, e.g. `--h2c --framework fastify`. */
  startExtraPassthrough(
    name: string,
    flags: readonly string[],
  ): Promise<{ handle: ChildHandle; url: string }>;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** The first free port from `base` on. */
export async function freePort(base: number): Promise<number> {
  for (let port = base; port < base + 100; port++) if (await portIsFree(port)) return port;
  throw new Error(`no free port in ${base}..${base + 99}`);
}

/**
 * The gateway's config: every bench model routed to the mock, retries off, logs at warn so that the access line
 * (an info line) is not written, as the references write no log; each gateway has its own store file beside the
 * config, and the spend log on unless `spendLog` is false. `limit_per_host` is sized for the 10,000-stream
 * phase; a traced gateway exports the spans it samples (`sampleRatio`) to the mock's OTLP receiver, on a path of
 * its own (receiverPath) so that each one's spans are counted apart.
 */
function gatewayConfig(mockPort: number, spec: GatewaySpec): string {
  const { traced } = spec;
  const keyed = spec.keyed === true;
  const models = BENCH_MODELS.map((model) => `  "${model}": mock`).join("\n");
  // Priced as a real model, so every request's cost is computed as in production.
  const prices = BENCH_MODELS.map(
    (model) => `  "${model}": {input: 0.15, cached_input: 0.075, output: 0.6}`,
  ).join("\n");
  const telemetry =
    traced === undefined
      ? ""
      : `telemetry:\n  endpoint: "http://127.0.0.1:${mockPort}${receiverPath(traced.name)}"\n` +
        `  sample_ratio: ${traced.sampleRatio}\n`;
  // The keyed gateway: the same, with two client keys (the limits scenarios compare them).
  const auth = keyed
    ? "auth:\n  keys:\n" +
      `    - {name: bench-free, key: ${BENCH_FREE_KEY}}\n` +
      `    - {name: bench-limited, key: ${BENCH_LIMITED_KEY}, ` +
      "limits: {rpm: 1000000000, tpm: 1000000000000, max_parallel: 1000000}}\n"
    : "";
  return `# Written by bench/run.ts; removed when it exits.
model_config:
${models}
providers:
  mock:
    type: openai
    base_url: "http://127.0.0.1:${mockPort}/v1"
    api_key_env: BENCH_KEY
server:
  host: "127.0.0.1"
  log_level: warn
  watch_config: false
proxy:
  max_retries: 0
  timeout: 120
connector:
  limit: 1024
  limit_per_host: 10240
prices:
${prices}
store:
  path: "${spec.name}.db"
  spend_log: ${spec.spendLog !== false}
${telemetry}${auth}`;
}

/** A traced gateway of the fleet. */
interface TracedGateway {
  readonly name: TargetName;
  readonly sampleRatio: number;
}

/** Where a traced gateway's spans go on the mock (`/<path>/v1/traces`). */
export function receiverPath(target: TargetName): string {
  return `/${target}`;
}

interface GatewaySpec {
  readonly name: string;
  readonly traced?: TracedGateway;
  /** With the two client keys of the limits scenarios. */
  readonly keyed?: boolean;
  readonly profile: boolean;
  readonly inspectPort?: number;
  /** false: `store.spend_log: false` (default on, as shipped). */
  readonly spendLog?: boolean;
}

async function startGateway(options: FleetOptions, mockPort: number, spec: GatewaySpec) {
  const configPath = join(options.configDir, `${spec.name}.yaml`);
  writeFileSync(configPath, gatewayConfig(mockPort, spec));
  // Apart from the untraced gateway's range, one range per traced, keyed or spend-off one.
  const own =
    spec.traced?.name ??
    (spec.keyed === true ? "gateway-keyed" : spec.spendLog === false ? "gateway-spend-off" : undefined);
  const port = await freePort(options.gatewayPortBase + (own === undefined ? 0 : 100 * TARGETS.indexOf(own)));
  const profile =
    options.cpuProfDir === undefined || !spec.profile
      ? []
      : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`];
  const inspect = spec.inspectPort === undefined ? [] : [`--inspect=127.0.0.1:${spec.inspectPort}`];
  const args = [
    ...options.gatewayNodeFlags,
    ...profile,
    ...inspect,
    join(REPO_DIR, "src", "main.ts"),
    ...["--config", configPath, "--host", "127.0.0.1", "--port", String(port), "--log-level", "warn"],
  ];
  // OTEL_* of the shell must not turn tracing on (or off) behind the bench's back.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("OTEL_")));
  // A run's spans are exported, and their CPU counted, within that run: at 0.1 a run samples fewer spans than
  // one batch (512), which would otherwise wait for the SDK's 5 s schedule and land in another target's run.
  const batchDelay = spec.traced === undefined ? {} : { OTEL_BSP_SCHEDULE_DELAY: "200" };
  const handle = spawnQuiet(spec.name, args, {
    ...env,
    ...batchDelay,
    ...options.allocator.env,
    BENCH_KEY: "bench-key",
  });
  await waitForHttp(handle, `http://127.0.0.1:${port}/health`, options.startupTimeoutMs);
  return { handle, port };
}

/** Starts everything; on failure the caller's stopAll() cleans up what did start. */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const timeout = options.startupTimeoutMs;
  const mock = await spawnReporting(
    "mock upstream",
    [join(BENCH_DIR, "mock-upstream.ts"), "--port", "0"],
    timeout,
  );
  const upstream = `http://127.0.0.1:${mock.port}`;
  const startPassthrough = (name: string, flags: readonly string[]) =>
    spawnReporting(
      name,
      [
        join(BENCH_DIR, "passthrough.ts"),
        ...["--upstream", upstream, "--port", "0", "--mode", options.passthroughMode],
        ...flags,
      ],
      timeout,
      { ...process.env, ...options.allocator.env },
    );
  const traced = (name: "gateway-traced" | "gateway-traced-0.1") =>
    startGateway(options, mock.port, {
      name,
      traced: { name, sampleRatio: TRACED_TARGETS[name] ?? 1 },
      profile: false,
    });
  const [passthrough, floor, gateway, keyed, traced1, traced01, spendOff] = await Promise.all([
    startPassthrough("pass-through", []),
    startPassthrough("fastify floor", ["--framework", "fastify"]),
    startGateway(options, mock.port, { name: "gateway", profile: true }),
    startGateway(options, mock.port, { name: "gateway-keyed", keyed: true, profile: false }),
    traced("gateway-traced"),
    traced("gateway-traced-0.1"),
    startGateway(options, mock.port, { name: "gateway-spend-off", profile: false, spendLog: false }),
  ]);
  const loadHandle = forkWithIpc("load generator", join(BENCH_DIR, "load.ts"));
  const load = await connectLoad(loadHandle, timeout);
  let pinned = false;
  if (options.pin) {
    pinned =
      pinToCpu(passthrough.handle, 0) &&
      pinToCpu(floor.handle, 0) &&
      pinToCpu(gateway.handle, 0) &&
      pinToCpu(keyed.handle, 0) &&
      pinToCpu(traced1.handle, 0) &&
      pinToCpu(traced01.handle, 0) &&
      pinToCpu(spendOff.handle, 0) &&
      pinToCpu(mock.handle, 1) &&
      pinToCpu(loadHandle, 1);
  }
  const path = "/v1/chat/completions";
  return {
    urls: {
      direct: `${upstream}${path}`,
      passthrough: `http://127.0.0.1:${passthrough.port}${path}`,
      "fastify-floor": `http://127.0.0.1:${floor.port}${path}`,
      gateway: `http://127.0.0.1:${gateway.port}${path}`,
      "gateway-keyed": `http://127.0.0.1:${keyed.port}${path}`,
      "gateway-traced": `http://127.0.0.1:${traced1.port}${path}`,
      "gateway-traced-0.1": `http://127.0.0.1:${traced01.port}${path}`,
      "gateway-spend-off": `http://127.0.0.1:${spendOff.port}${path}`,
    },
    processes: {
      mock: mock.handle,
      passthrough: passthrough.handle,
      "fastify-floor": floor.handle,
      gateway: gateway.handle,
      "gateway-keyed": keyed.handle,
      "gateway-traced": traced1.handle,
      "gateway-traced-0.1": traced01.handle,
      "gateway-spend-off": spendOff.handle,
      load: loadHandle,
    },
    load,
    pinned,
    async startExtraGateway(name, inspectPort) {
      const extra = await startGateway(options, mock.port, { name, profile: false, inspectPort });
      if (pinned) pinToCpu(extra.handle, 0);
      return { handle: extra.handle, url: `http://127.0.0.1:${extra.port}${path}` };
    },
    async startExtraPassthrough(name, flags) {
      const extra = await startPassthrough(name, flags);
      if (pinned) pinToCpu(extra.handle, 0);
      return { handle: extra.handle, url: `http://127.0.0.1:${extra.port}${path}` };
    },
  };
}

/** Removes the temporary config directory. */
export function removeConfigDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The mock's counters: connections that carried chat requests, and spans its OTLP receiver got, per receiver path. */
export interface MockStats {
  readonly connections: number;
  readonly spans: number;
  readonly spansByReceiver: Readonly<Record<string, number>>;
}

/** The mock's counters so far (undefined when it cannot say). */
export async function mockStats(fleet: Fleet): Promise<MockStats | undefined> {
  try {
    const response = await fetch(new URL("/stats", fleet.urls.direct), { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as {
      connections?: unknown;
      spans?: unknown;
      spansByReceiver?: Record<string, number>;
    };
    return typeof body.connections === "number" && typeof body.spans === "number"
      ? { connections: body.connections, spans: body.spans, spansByReceiver: body.spansByReceiver ?? {} }
      : undefined;
  } catch {
    return undefined;
  }
}
