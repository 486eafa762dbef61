/**
 * Runs the real entry (`node src/main.ts`) as a child process, as production does: tracing must start before
 * Fastify loads, which an in-process server cannot show. Collects its JSON log lines and the OpenTelemetry modules
 * it loaded (through the record-modules.ts preload).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A started gateway. */
export interface GatewayProcess {
  readonly port: number;
  readonly url: string;
  /** Parsed stdout log lines, in order. */
  readonly logs: Record<string, unknown>[];
  stderr(): string;
  signal(name: NodeJS.Signals): void;
  /** Sends SIGTERM; resolves with the exit code and the @opentelemetry packages the process loaded. */
  stop(): Promise<{ code: number | null; modules: string[] }>;
  kill(): void;
}

/**
 * Starts `node src/main.ts --config <yaml>` on 127.0.0.1 with a port from the OS. When the config sends the logs
 * to a file, pass it as `logFile` so the startup line is looked for there.
 */
export async function startGateway(
  yaml: string,
  env: Record<string, string> = {},
  logFile?: string,
): Promise<GatewayProcess> {
  const directory = mkdtempSync(join(tmpdir(), "llm-proxy-otel-"));
  const configFile = join(directory, "config.yaml");
  const modulesFile = join(directory, "modules.json");
  writeFileSync(configFile, yaml);
  // The parent's OTEL_* variables must not leak in: each test says exactly what it configures.
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("OTEL_")),
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--import",
      "./test/telemetry/record-modules.ts",
      "src/main.ts",
      "--config",
      configFile,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...cleanEnv, ...env, LLM_PROXY_TEST_MODULES_FILE: modulesFile },
    },
  );
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  let buffered = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => {
    buffered += text;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) if (line !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const port = await listeningPort(
    () => (logFile === undefined ? logs : readJsonLines(logFile)),
    child,
    () => stderr,
  );
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    stderr: () => stderr,
    signal: (name) => child.kill(name),
    async stop() {
      child.kill("SIGTERM");
      const code = await exited;
      return { code, modules: JSON.parse(readFileSync(modulesFile, "utf8")) as string[] };
    },
    kill: () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

/** The JSON lines of a log file (none while it does not exist). */
export function readJsonLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function listeningPort(
  logs: () => readonly Record<string, unknown>[],
  child: ChildProcess,
  stderr: () => string,
): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    for (const line of logs()) {
      const match = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(String(line.msg));
      if (match?.[1] !== undefined) return Number(match[1]);
    }
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`gateway did not start: ${stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
