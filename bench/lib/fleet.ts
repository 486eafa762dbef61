/**
 * Starts the benchmark's processes: the mock vendor, the bare pass-through, the gateway (with a temporary config
 * that routes the bench models to the mock) and the load generator, each in its own process, and waits until
 * each is ready.
 */
import { rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ChildHandle,
  forkWithIpc,
  pinToCpu,
  spawnQuiet,
  spawnReporting,
  waitForHttp,
} from "./children.ts";
import { connectLoad, type LoadClient } from "./load-client.ts";
import { BENCH_MODELS, type TargetName } from "./scenarios.ts";

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
}

/** The running processes and where to reach each target. */
export interface Fleet {
  readonly urls: Readonly<Record<TargetName, string>>;
  readonly processes: Readonly<Record<"mock" | "passthrough" | "gateway" | "load", ChildHandle>>;
  readonly load: LoadClient;
  readonly pinned: boolean;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

async function freePort(base: number): Promise<number> {
  for (let port = base; port < base + 100; port++) if (await portIsFree(port)) return port;
  throw new Error(`no free port in ${base}..${base + 99}`);
}

function gatewayConfig(mockPort: number): string {
  const models = BENCH_MODELS.map((model) => `  "${model}": mock`).join("\n");
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
proxy:
  max_retries: 0
  timeout: 120
connector:
  limit: 1024
  limit_per_host: 256
`;
}

async function startGateway(options: FleetOptions, mockPort: number, configDir: string) {
  const configPath = join(configDir, "config.yaml");
  writeFileSync(configPath, gatewayConfig(mockPort));
  const port = await freePort(options.gatewayPortBase);
  const profile =
    options.cpuProfDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`];
  const args = [
    ...profile,
    join(REPO_DIR, "src", "main.ts"),
    ...["--config", configPath, "--host", "127.0.0.1", "--port", String(port), "--log-level", "warn"],
  ];
  const handle = spawnQuiet("gateway", args, { ...process.env, BENCH_KEY: "bench-key" });
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
  const [passthrough, gateway] = await Promise.all([
    spawnReporting(
      "pass-through",
      [
        join(BENCH_DIR, "passthrough.ts"),
        ...["--upstream", upstream, "--port", "0", "--mode", options.passthroughMode],
      ],
      timeout,
    ),
    startGateway(options, mock.port, options.configDir),
  ]);
  const loadHandle = forkWithIpc("load generator", join(BENCH_DIR, "load.ts"));
  const load = await connectLoad(loadHandle, timeout);
  let pinned = false;
  if (options.pin) {
    pinned =
      pinToCpu(passthrough.handle, 0) &&
      pinToCpu(gateway.handle, 0) &&
      pinToCpu(mock.handle, 1) &&
      pinToCpu(loadHandle, 1);
  }
  const path = "/v1/chat/completions";
  return {
    urls: {
      direct: `${upstream}${path}`,
      passthrough: `http://127.0.0.1:${passthrough.port}${path}`,
      gateway: `http://127.0.0.1:${gateway.port}${path}`,
    },
    processes: {
      mock: mock.handle,
      passthrough: passthrough.handle,
      gateway: gateway.handle,
      load: loadHandle,
    },
    load,
    pinned,
  };
}

/** Removes the temporary config directory. */
export function removeConfigDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Connections the mock has accepted so far (undefined when it cannot say). */
export async function upstreamConnections(fleet: Fleet): Promise<number | undefined> {
  try {
    const response = await fetch(new URL("/stats", fleet.urls.direct), { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { connections?: unknown };
    return typeof body.connections === "number" ? body.connections : undefined;
  } catch {
    return undefined;
  }
}
