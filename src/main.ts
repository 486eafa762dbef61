/**
 * Process entry: command line, config, runtime, one listening port for HTTP/1.1, h2c and gRPC, signals.
 */

import { type ConfigReloader, createConfigReloader } from "./admin/reloader.ts";
import { watchConfigFile } from "./admin/watch.ts";
import { parseCli, USAGE } from "./cli.ts";
import { announcingReloader, followPrimary, isClusterWorker } from "./cluster/worker-link.ts";
import { ConfigError } from "./config/config-error.ts";
import { exportOsEnv } from "./config/env.ts";
import { loadConfig } from "./config/load.ts";
import { applyOverrides } from "./config/overrides.ts";
import { EPHEMERAL_REASONING_KEY_NOTE } from "./config/reasoning-keys.ts";
import { createRuntime, createRuntimeHolder } from "./core/runtime.ts";
import { announcingStore } from "./governance/announcing-key-store.ts";
import { ClusterLimitCounters, primaryChannel } from "./governance/cluster-counters.ts";
import { openGovernanceStore } from "./governance/open-store.ts";
import { unpricedModels, unpricedWarning } from "./governance/prices.ts";
import { startRetention } from "./governance/retention.ts";
import { startScaleOut } from "./governance/scale-out-start.ts";
import { applyHeapTuning } from "./heap-tuning.ts";
import { createDualServerFactory } from "./net/server-factory.ts";
import { loadTlsFastifyOptions } from "./net/tls-options.ts";
import { createDrainController, handleShutdownSignals } from "./shutdown.ts";
import { adminLoopbackWarning, checkConfigFile, openGatewayWarning, prepareStartup } from "./startup.ts";
import { startProcessTelemetry } from "./telemetry/start.ts";

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  if (cli.help) return void process.stdout.write(USAGE);
  if (cli.version) return void process.stdout.write(`${(await import("./server.ts")).VERSION}\n`);
  if (cli.checkConfig) {
    const checked = await checkConfigFile(cli.configPath, process.env);
    (checked.ok ? process.stdout : process.stderr).write(`${checked.text}\n`);
    process.exitCode = checked.ok ? 0 : 1;
    return;
  }

  const loaded = await loadConfig(cli.configPath);
  const ownedEnv = new Set(exportOsEnv(loaded.file, process.env));
  const config = applyOverrides(loaded, cli);
  applyHeapTuning(config.server.heapGrowingPercent);
  if (config.server.workers > 1 && !isClusterWorker()) {
    // The primary only supervises: workers (forked with the same command line) serve the port.
    const [{ runPrimary }, { default: pino }] = await Promise.all([
      import("./cluster/primary.ts"),
      import("pino"),
    ]);
    const log = pino({ level: config.server.logLevel });
    await runPrimary({
      workers: config.server.workers,
      configPath: cli.configPath,
      watchConfig: config.server.watchConfig,
      log,
    });
    process.exit(0);
  }
  const startup = prepareStartup(config, process.env);
  // Each worker opens the store (a damaged file, an uncreatable folder or an unreachable PostgreSQL stops the start
  // with its cause: an orchestrator restarts the replica, rather than one serving without keys or spend log).
  const store = await openGovernanceStore(config.store);
  // The server modules are imported only after telemetry started, so that with tracing off no OpenTelemetry SDK
  // module is loaded at all, and with it on the undici instrumentation is in place before the first request.
  const telemetry = await startProcessTelemetry(config, process.env);
  const { buildServer, REDACTED_LOG_PATHS } = await import("./server.ts");
  // Many replicas (store.redis_url): limits, cooldowns and key changes shared through Redis (src/governance/).
  const scaleOut = await startScaleOut({ config, spend: store.spend, current: () => runtime.current.config });
  const runtime = createRuntimeHolder(createRuntime(config, { decorateHealth: scaleOut?.decorateHealth }));
  // Cleartext: one port sniffs each connection for HTTP/1.1 or h2c. TLS: ALPN chooses, no sniffing needed.
  const serverOptions =
    config.server.tls === undefined
      ? { serverFactory: createDualServerFactory().serverFactory }
      : await loadTlsFastifyOptions(config.server.tls);
  const drain = createDrainController();
  const app = await buildServer({
    runtime,
    logger: {
      level: config.server.logLevel,
      redact: { paths: [...REDACTED_LOG_PATHS], censor: "[redacted]" },
      ...(telemetry.logStream === undefined ? {} : { stream: telemetry.logStream }),
    },
    serverOptions,
    reloader: () => reloader,
    watchingConfig: config.server.watchConfig,
    tracing: telemetry.tracing,
    shutdownSignal: drain.signal,
    // With Redis, each key change made here is announced, and the others' changes reload the key cache at once.
    store: scaleOut === undefined ? store : announcingStore(store, scaleOut.announceKeysChanged),
    onKeysChanged: scaleOut?.onKeysChanged,
    // In a cluster the per-key limit counters live in the primary, so that they hold across the workers.
    counters:
      scaleOut?.counters ??
      (isClusterWorker()
        ? new ClusterLimitCounters({
            channel: primaryChannel(),
            spentSince: (keyId, from) => store.spend.spentSince(keyId, from),
          })
        : undefined),
    // The shared stores /ready and llm_proxy_store_up report: Redis, PostgreSQL.
    stores: [scaleOut?.health, store.health].filter((health) => health !== undefined),
  });
  telemetry.tracing?.useLogger(app.log);
  const retentionDays = config.store.retentionDays;
  const retention =
    retentionDays === undefined ? undefined : startRetention(store.spend, retentionDays, app.log);
  warnAboutConfig(app.log, config);
  for (const model of unpricedModels(config)) app.log.warn({ model }, unpricedWarning(model));
  const openWarning = openGatewayWarning(config, startup.auth);
  if (openWarning !== undefined) app.log.warn({ host: config.server.host }, openWarning);
  const adminWarning = adminLoopbackWarning(startup.auth);
  if (adminWarning !== undefined) app.log.warn({ routes: ["/config", "/config/reload"] }, adminWarning);
  if (runtime.current.reasoningSeal.ephemeral) app.log.info(EPHEMERAL_REASONING_KEY_NOTE);
  const ownReloader: ConfigReloader = createConfigReloader({
    path: cli.configPath,
    holder: runtime,
    log: app.log,
    overrides: cli,
    env: process.env,
    ownedEnv,
    createRuntime: (next, keys) => createRuntime(next, { keys, decorateHealth: scaleOut?.decorateHealth }),
  });
  // In a cluster, a reload through the API is announced so that every worker reloads (src/cluster/).
  const reloader = isClusterWorker() ? announcingReloader(ownReloader) : ownReloader;

  await app.listen({ host: config.server.host, port: config.server.port });
  app.log.info(
    { config: config.source, models: config.routes.length, tls: config.server.tls !== undefined },
    "llm-proxy ready",
  );
  // In a cluster the primary watches the file and relays changes; each worker would reload the same file.
  const watch =
    config.server.watchConfig && !isClusterWorker()
      ? await watchConfigFile(cli.configPath, (content) => reloader.reload("watch", content), {
          log: app.log,
        })
      : undefined;
  process.on("SIGHUP", () => void reloader.reload("signal"));

  // SIGTERM/SIGINT: stop accepting, drain up to server.drain_timeout, end the rest, exit 0 (src/shutdown.ts).
  const startShutdown = handleShutdownSignals({
    app,
    drain,
    drainTimeoutMs: config.server.drainTimeoutMs,
    release: async () => {
      watch?.close();
      retention?.stop();
      await runtime.current.close();
      // After app.close(): its onClose hooks (the spend writer's last flush) have written to the store.
      await store.close();
      await scaleOut?.close();
      await telemetry.shutdown();
    },
    exit: (code) => process.exit(code),
  });
  if (isClusterWorker()) followPrimary(reloader, startShutdown, app.log);
}

function warnAboutConfig(
  log: { warn: (object: object, message: string) => void },
  config: ReturnType<typeof applyOverrides>,
): void {
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
