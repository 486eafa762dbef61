/**
 * What the comparison benches (bench/redis-limits.ts, bench/tracing.ts) share: their flags, the mock vendor and
 * load generator they drive their gateways with, and a gateway process started on a config of its own.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChildHandle, forkWithIpc, spawnQuiet, spawnReporting, waitForHttp } from "./children.ts";
import { connectLoad, type LoadClient } from "./load-client.ts";
import { readFlags } from "./protocol.ts";

const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

/** --rounds N, --duration-ms N, --warmup-ms N (defaults 3, 3000, 1000 unless the bench gives its own), and every
 * flag as given. */
export function comparisonFlags(
  argv: readonly string[],
  defaults: { readonly rounds?: number; readonly durationMs?: number; readonly warmupMs?: number } = {},
) {
  const flags = readFlags(argv);
  return {
    flags,
    rounds: Number(flags.get("rounds") ?? defaults.rounds ?? 3),
    durationMs: Number(flags.get("duration-ms") ?? defaults.durationMs ?? 3000),
    warmupMs: Number(flags.get("warmup-ms") ?? defaults.warmupMs ?? 1000),
  };
}

/** The gateways' mock vendor in a process of its own; its port. */
export async function startMockVendor(): Promise<number> {
  const mock = await spawnReporting(
    "mock upstream",
    [join(BENCH_DIR, "mock-upstream.ts"), "--port", "0"],
    20_000,
  );
  return mock.port;
}

/** The load generator of `npm run bench`, in a process of its own. */
export function startLoadGenerator(): Promise<LoadClient> {
  return connectLoad(forkWithIpc("load generator", join(BENCH_DIR, "load.ts")), 20_000);
}

/** A gateway process to compare, and its chat completions URL. */
export interface ComparedGateway {
  readonly handle: ChildHandle;
  readonly url: string;
}

/**
 * Writes `config` to `directory`/`name`.yaml and runs the gateway on it, on a port from `portBase` up (spread by
 * `slot` of `slots`, with some randomness so a previous run's lingering port is unlikely); resolves once /health
 * answers.
 */
export async function startComparedGateway(options: {
  readonly name: string;
  readonly label: string;
  readonly config: string;
  readonly directory: string;
  readonly portBase: number;
  readonly slot: number;
  readonly slots: number;
  readonly env: NodeJS.ProcessEnv;
}): Promise<ComparedGateway> {
  const file = join(options.directory, `${options.name}.yaml`);
  writeFileSync(file, options.config);
  const port = options.portBase + options.slot + Math.floor(Math.random() * 50) * options.slots;
  const handle = spawnQuiet(options.label, [MAIN, "--config", file, "--port", String(port)], options.env);
  await waitForHttp(handle, `http://127.0.0.1:${port}/health`, 20_000);
  return { handle, url: `http://127.0.0.1:${port}/v1/chat/completions` };
}
