/** Command-line options: `--config --host --port --log-level` override the file. */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";

/** Parsed command line. */
export interface CliOptions {
  readonly configPath: string;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly logLevel: string | undefined;
  readonly help: boolean;
  readonly version: boolean;
  /** Validate the config as a reload would, print the result, and exit. */
  readonly checkConfig: boolean;
}

/** The usage text. */
export const USAGE = `Usage: llm-proxy [--config FILE] [--host HOST] [--port PORT] [--log-level LEVEL] [--check-config]

  --config FILE      YAML config (default: config/config.yaml, else config/config.example.yaml)
  --host HOST        listen address (overrides server.host)
  --port PORT        listen port for HTTP and gRPC (overrides server.port)
  --log-level LEVEL  fatal|error|warn|info|debug|trace|silent (overrides server.log_level)
  --check-config     validate the config as a reload would (exit 0 with a summary, or 1 with the errors)
  --help, --version
`;

/** Parses argv (without node and script). Throws a readable Error on bad input. */
export function parseCli(argv: readonly string[]): CliOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: "string", short: "c" },
      host: { type: "string" },
      port: { type: "string", short: "p" },
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
      "check-config": { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new Error(`--port must be an integer from 0 to 65535, got '${values.port}'`);
  }
  return {
    configPath: values.config ?? defaultConfigPath(),
    host: values.host,
    port,
    logLevel: values["log-level"],
    help: values.help === true,
    version: values.version === true,
    checkConfig: values["check-config"] === true,
  };
}

function defaultConfigPath(): string {
  return existsSync("config/config.yaml") ? "config/config.yaml" : "config/config.example.yaml";
}
