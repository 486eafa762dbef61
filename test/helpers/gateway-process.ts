/**
 * The real entry (`node src/main.ts`) as a child process, as production runs it: its stdout as complete lines
 * as they arrive, its stderr, and its exit. `startGatewayProcess` serves on 127.0.0.1 with a port from the OS
 * and learns the port from the "listening at" log line; `runGatewayToExit` runs a command that ends by itself
 * (--help, --check-config, a refused config) and keeps everything it printed. Every process started here is
 * tracked so a test file's afterEach/afterAll can kill the ones still running.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A running (or exited) gateway process. */
export interface GatewayChild {
  readonly child: ChildProcess;
  /** Complete stdout lines, in order, empty ones left out. */
  readonly lines: string[];
  stdout(): string;
  stderr(): string;
  /** Resolves on exit with the code and the performance.now() it exited at. */
  readonly exited: Promise<{ readonly code: number | null; readonly at: number }>;
}

/** How to spawn the entry. */
export interface GatewaySpawnOptions {
  /** The whole environment of the child. Default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
  /** Node options before the script (e.g. `--import` of a preload). */
  readonly nodeArgs?: readonly string[];
  /** Called with each complete stdout line as it arrives. */
  readonly onLine?: (line: string) => void;
}

const running = new Set<ChildProcess>();

/** Spawns `node [nodeArgs] src/main.ts ...args` with stdout and stderr captured. */
export function spawnGateway(args: readonly string[], options: GatewaySpawnOptions = {}): GatewayChild {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), "src/main.ts", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: options.env ?? process.env,
  });
  running.add(child);
  const lines: string[] = [];
  let stdout = "";
  let stderr = "";
  let partialLine = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
    const pieces = (partialLine + text).split("\n");
    partialLine = pieces.pop() ?? "";
    for (const line of pieces.filter(Boolean)) {
      lines.push(line);
      options.onLine?.(line);
    }
  });
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once("exit", (code) => {
      running.delete(child);
      resolve({ code, at: performance.now() });
    }),
  );
  return { child, lines, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Polls `condition` every 25 ms; throws (with the process's stderr) when the process exits first or at the timeout. */
export async function waitForGateway(
  gateway: GatewayChild,
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline || gateway.child.exitCode !== null) {
      throw new Error(`gateway never showed ${what}: ${gateway.stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The port of the first "listening at http(s)://127.0.0.1:<port>" in `texts`. */
export function listeningPort(texts: Iterable<string>): number | undefined {
  for (const text of texts) {
    const port = /listening at https?:\/\/127\.0\.0\.1:(\d+)/.exec(text)?.[1];
    if (port !== undefined) return Number(port);
  }
  return undefined;
}

/** Starts the entry with `args` plus `--host 127.0.0.1 --port 0` and resolves once it is listening. */
export async function startGatewayProcess(
  args: readonly string[],
  options: GatewaySpawnOptions = {},
): Promise<GatewayChild & { readonly port: number }> {
  const gateway = spawnGateway([...args, "--host", "127.0.0.1", "--port", "0"], options);
  await waitForGateway(gateway, () => listeningPort(gateway.lines) !== undefined, "a listening line");
  return { ...gateway, port: listeningPort(gateway.lines) ?? 0 };
}

/** Runs the entry until it ends; resolves once its output is fully read ('close', not just 'exit'). */
export async function runGatewayToExit(
  args: readonly string[],
  options: Pick<GatewaySpawnOptions, "env"> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const gateway = spawnGateway(args, options);
  const code = await new Promise<number | null>((resolve) => gateway.child.once("close", resolve));
  return { code, stdout: gateway.stdout(), stderr: gateway.stderr() };
}

/** Writes `yaml` to config.yaml in a fresh temporary directory; returns the file's path. */
export function writeTempConfig(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "llm-proxy-test-")), "config.yaml");
  writeFileSync(file, yaml);
  return file;
}

/** SIGKILLs every gateway process this test file started that is still running. */
export function killGatewayProcesses(): void {
  for (const child of running) if (child.exitCode === null) child.kill("SIGKILL");
  running.clear();
}
