/**
 * Process entry: command line, config, runtime, one listening port for HTTP/1.1, h2c and gRPC, signals.
 */

import { parseCli, USAGE } from "./cli.ts";
import { ConfigError } from "./config/config-error.ts";
import { exportOsEnv } from "./config/env.ts";
import { loadConfig } from "./config/load.ts";
import { applyOverrides } from "./config/overrides.ts";
import { createRuntime, createRuntimeHolder } from "./core/runtime.ts";
import { createDualServerFactory } from "./net/server-factory.ts";
import { loadTlsFastifyOptions } from "./net/tls-options.ts";
import { buildServer, REDACTED_LOG_PATHS, VERSION } from "./server.ts";

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  if (cli.help) return void process.stdout.write(USAGE);
  if (cli.version) return void process.stdout.write(`${VERSION}\n`);

  const loaded = await loadConfig(cli.configPath);
  exportOsEnv(loaded.file, process.env);
  const config = applyOverrides(loaded, cli);
  const runtime = createRuntimeHolder(createRuntime(config));
  // Cleartext: one port sniffs each connection for HTTP/1.1 or h2c. TLS: ALPN chooses, no sniffing needed.
  const serverOptions =
    config.server.tls === undefined
      ? { serverFactory: createDualServerFactory().serverFactory }
      : await loadTlsFastifyOptions(config.server.tls);
  const app = await buildServer({
    runtime,
    logger: {
      level: config.server.logLevel,
      redact: { paths: [...REDACTED_LOG_PATHS], censor: "[redacted]" },
    },
    serverOptions,
  });
  warnAboutConfig(app.log, config);

  await app.listen({ host: config.server.host, port: config.server.port });
  app.log.info(
    { config: config.source, models: config.routes.length, tls: config.server.tls !== undefined },
    "llm-proxy ready",
  );

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, "shutting down");
    await app.close();
    await runtime.current.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

function warnAboutConfig(
  log: { warn: (object: object, message: string) => void },
  config: ReturnType<typeof applyOverrides>,
): void {
  if (config.server.workers > 1) {
    log.warn(
      { workers: config.server.workers },
      "server.workers > 1 is not supported yet; running one process",
    );
  }
  for (const provider of config.providers.values()) {
    if (
      provider.apiKey === undefined &&
      provider.apiKeyEnv !== undefined &&
      !process.env[provider.apiKeyEnv]
    ) {
      log.warn(
        { provider: provider.name, variable: provider.apiKeyEnv },
        "provider has no API key; its models will fail",
      );
    }
  }
}

main().catch((error: unknown) => {
  // Startup failures go to stderr without a stack for config errors: the message names the YAML path.
  const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`llm-proxy: ${message}\n`);
  process.exit(1);
});
