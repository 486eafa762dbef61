/**
 * Child processes of the benchmark: spawning, readiness (a JSON "ready" line on stdout, or an HTTP health URL),
 * optional CPU pinning, and killing every one of them on the way out, also on errors and signals.
 */
import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { parseReadyLine } from "./protocol.ts";

/** A running child and the last lines of its stderr, for error messages. */
export interface ChildHandle {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number | undefined;
  stderrTail(): string;
}

const running = new Set<ChildHandle>();

function track(name: string, child: ChildProcess): ChildHandle {
  const tail: string[] = [];
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    tail.push(text);
    if (tail.length > 20) tail.shift();
  });
  const handle: ChildHandle = {
    name,
    process: child,
    pid: child.pid,
    stderrTail: () => tail.join("").slice(-2000),
  };
  running.add(handle);
  child.once("exit", () => running.delete(handle));
  return handle;
}

function exitedError(handle: ChildHandle, code: number | null, signal: NodeJS.Signals | null): Error {
  const stderr = handle.stderrTail().trim();
  return new Error(
    `${handle.name} exited early (code ${code}, signal ${signal})${stderr ? `:\n${stderr}` : ""}`,
  );
}

/** Spawns `node script args` and resolves with the port of its `{"event":"ready"}` stdout line. */
export function spawnReporting(
  name: string,
  args: readonly string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ handle: ChildHandle; port: number }> {
  const child = spawn(process.execPath, [...args], { stdio: ["ignore", "pipe", "pipe"], env });
  const handle = track(name, child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready after ${timeoutMs} ms`)), timeoutMs);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      const ready = parseReadyLine(line);
      if (ready === undefined) return;
      clearTimeout(timer);
      lines.close();
      child.stdout?.resume();
      resolve({ handle, port: ready.port });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(exitedError(handle, code, signal));
    });
  });
}

/** Spawns a server that says nothing on readiness; poll it with waitForHttp. */
export function spawnQuiet(name: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildHandle {
  const child = spawn(process.execPath, [...args], { stdio: ["ignore", "ignore", "pipe"], env });
  return track(name, child);
}

/** Forks a node script with an IPC channel. */
export function forkWithIpc(name: string, script: string): ChildHandle {
  const child = fork(script, [], { stdio: ["ignore", "inherit", "pipe", "ipc"], serialization: "json" });
  return track(name, child);
}

/** Polls `url` until it answers 200, the child exits, or the time runs out. */
export async function waitForHttp(handle: ChildHandle, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    const { exitCode, signalCode } = handle.process;
    if (exitCode !== null || signalCode !== null) throw exitedError(handle, exitCode, signalCode);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${handle.name} not ready at ${url} after ${timeoutMs} ms (${last})`);
}

/** Pins a process (a child, or this one: `process`) and all its threads to one CPU with taskset; false when that
 * is not possible here. Children spawned afterwards inherit the CPU. */
export function pinToCpu(handle: { readonly pid: number | undefined }, cpu: number): boolean {
  if (handle.pid === undefined) return false;
  try {
    execFileSync("taskset", ["-a", "-cp", String(cpu), String(handle.pid)], {
      stdio: "ignore",
      timeout: 2000,
    });
    return true;
  } catch {
    return false;
  }
}

function waitForExit(handle: ChildHandle, timeoutMs: number): Promise<void> {
  const { exitCode, signalCode } = handle.process;
  if (exitCode !== null || signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    handle.process.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** SIGTERM every running child (graceful: lets --cpu-prof write its profile), SIGKILL what remains. */
export async function stopAll(graceMs: number): Promise<void> {
  const handles = [...running];
  for (const handle of handles) handle.process.kill("SIGTERM");
  await Promise.all(handles.map((handle) => waitForExit(handle, graceMs)));
  killAllNow();
}

/** Synchronous last resort, for process "exit". */
export function killAllNow(): void {
  for (const handle of running) {
    const { exitCode, signalCode } = handle.process;
    if (exitCode === null && signalCode === null) handle.process.kill("SIGKILL");
  }
  running.clear();
}
