/**
 * The process-wide part of observability, started by main before the server modules are imported: tracing
 * (when configured; the SDK modules are imported here and nowhere else) and the log file destination.
 */
import type { Config } from "../config/config.ts";
import type { Tracing } from "./start-tracing.ts";
import { resolveTracingSettings } from "./tracing-settings.ts";

/** A pino destination that can be reopened and flushed. */
interface LogDestination {
  write(line: string): boolean;
  reopen(): void;
  flushSync(): void;
}

/** What main hands to the server and calls on shutdown. */
export interface ProcessTelemetry {
  /** Present when tracing is on. */
  readonly tracing: Tracing | undefined;
  /** The log stream for `server.log_file`; undefined logs to stdout. */
  readonly logStream: LogDestination | undefined;
  /** Flushes spans and the log file. */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing if the config or OTEL_* variables ask for it, and opens the log file if one is configured.
 * Throws an Error naming the setting on a bad OTEL_* value.
 */
export async function startProcessTelemetry(
  config: Config,
  env: NodeJS.ProcessEnv,
): Promise<ProcessTelemetry> {
  const settings = resolveTracingSettings(config.telemetry, env);
  const tracing =
    settings === undefined ? undefined : (await import("./start-tracing.ts")).startTracing(settings);
  const logStream =
    config.server.logFile === undefined ? undefined : await openLogFile(config.server.logFile);
  return {
    tracing,
    logStream,
    async shutdown() {
      await tracing?.shutdown();
      logStream?.flushSync();
    },
  };
}

/**
 * Appends to the file (created with its folder if missing). Rotation is left to the platform: after renaming the
 * file, send SIGUSR2 and the log is reopened at the configured path (or use logrotate's copytruncate).
 * SIGHUP is not used: it reloads the config.
 */
async function openLogFile(path: string): Promise<LogDestination> {
  const { default: pino } = await import("pino");
  const destination = pino.destination({ dest: path, append: true, mkdir: true, sync: false });
  process.on("SIGUSR2", () => destination.reopen());
  // Writes are asynchronous: whatever is still buffered when the process exits (the last shutdown lines) is
  // written synchronously then.
  process.once("exit", () => {
    try {
      destination.flushSync();
    } catch {
      // Not open yet (exit during startup): nothing was buffered.
    }
  });
  return destination;
}
