/** Applies command-line overrides to a loaded config (the command line beats the file). */
import type { Config } from "./config.ts";
import type { ConfigFile } from "./schema.ts";

const LOG_LEVELS: ReadonlySet<string> = new Set([
  "fatal",
  "error",
  "warn",
  "info",
  "debug",
  "trace",
  "silent",
]);

/** Server settings the command line may override. */
export interface ServerOverrides {
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  readonly logLevel?: string | undefined;
}

/** A copy of `config` with the overrides applied. Throws on an unknown log level. */
export function applyOverrides(config: Config, overrides: ServerOverrides): Config {
  if (overrides.logLevel !== undefined && !LOG_LEVELS.has(overrides.logLevel)) {
    throw new Error(`--log-level must be one of ${[...LOG_LEVELS].join(", ")}, got '${overrides.logLevel}'`);
  }
  return Object.freeze({
    ...config,
    server: Object.freeze({
      ...config.server,
      host: overrides.host ?? config.server.host,
      port: overrides.port ?? config.server.port,
      logLevel:
        (overrides.logLevel as ConfigFile["server"]["log_level"] | undefined) ?? config.server.logLevel,
    }),
  });
}
