/**
 * Runs the real entry (`node src/main.ts`) as a child process, as production does: tracing must start before
 * Fastify loads, which an in-process server cannot show. Collects its JSON log lines and the OpenTelemetry modules
 * it loaded (through the record-modules.ts preload).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listeningPort, spawnGateway, waitForGateway } from "../helpers/gateway-process.ts";

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
  const logs: Record<string, unknown>[] = [];
  const gateway = spawnGateway(["--config", configFile, "--host", "127.0.0.1", "--port", "0"], {
    nodeArgs: ["--import", "./test/telemetry/record-modules.ts"],
    env: { ...cleanEnv, ...env, LLM_PROXY_TEST_MODULES_FILE: modulesFile },
    onLine: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
  });
  const messages = () =>
    (logFile === undefined ? logs : readJsonLines(logFile)).map((line) => String(line.msg));
  await waitForGateway(gateway, () => listeningPort(messages()) !== undefined, "a listening line");
  const port = listeningPort(messages()) ?? 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    stderr: gateway.stderr,
    signal: (name) => gateway.child.kill(name),
    async stop() {
      gateway.child.kill("SIGTERM");
      const { code } = await gateway.exited;
      return { code, modules: JSON.parse(readFileSync(modulesFile, "utf8")) as string[] };
    },
    kill: () => {
      if (gateway.child.exitCode === null) gateway.child.kill("SIGKILL");
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
