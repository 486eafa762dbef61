/**
 * Starts the real app the way src/main.ts does, from a YAML file on disk, with the reloader (and optionally the
 * file watch) wired in, on 127.0.0.1 with a port from the OS. The environment is a private object, so tests can
 * set key variables without touching process.env. Logs are captured as parsed JSON lines.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { type ConfigReloader, createConfigReloader, type ReloaderDeps } from "../../src/admin/reloader.ts";
import { type ConfigWatch, watchConfigFile } from "../../src/admin/watch.ts";
import { exportOsEnv } from "../../src/config/env.ts";
import { loadConfig } from "../../src/config/load.ts";
import { createRuntime, createRuntimeHolder, type RuntimeHolder } from "../../src/core/runtime.ts";
import { createDualServerFactory } from "../../src/net/server-factory.ts";
import { buildServer } from "../../src/server.ts";
import { prepareStartup } from "../../src/startup.ts";
import { createCapturedLogger } from "../helpers/captured-logger.ts";

/** A gateway started from a file. */
export interface FileServer {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly port: number;
  readonly path: string;
  readonly env: NodeJS.ProcessEnv;
  readonly holder: RuntimeHolder;
  readonly reloader: ConfigReloader;
  readonly logs: Record<string, unknown>[];
  /** Replaces the config file's content. */
  write(yaml: string): void;
  close(): Promise<void>;
}

/** Options of startFileServer. */
export interface FileServerOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly createRuntime?: ReloaderDeps["createRuntime"];
  /** Watch the file with this debounce (ms); unset: no watch. */
  readonly watchDebounceMs?: number;
  /** How long a changed file must stay the same before the watch reloads it (ms; default: the gateway's). */
  readonly watchSettleMs?: number;
  readonly logLevel?: string;
}

/** Writes `yaml` to a fresh temporary file and serves it. */
export async function startFileServer(yaml: string, options: FileServerOptions = {}): Promise<FileServer> {
  const path = join(mkdtempSync(join(tmpdir(), "llm-proxy-admin-")), "config.yaml");
  writeFileSync(path, yaml);
  const env: NodeJS.ProcessEnv = options.env ?? {};
  const { loggerInstance, logs } = createCapturedLogger(options.logLevel);
  const loaded = await loadConfig(path);
  const ownedEnv = new Set(exportOsEnv(loaded.file, env));
  prepareStartup(loaded, env);
  const build = options.createRuntime ?? ((config, keys) => createRuntime(config, { keys }));
  const holder = createRuntimeHolder(build(loaded, env));
  let reloader: ConfigReloader | undefined;
  const app = await buildServer({
    runtime: holder,
    logger: undefined,
    loggerInstance,
    serverOptions: { serverFactory: createDualServerFactory().serverFactory },
    reloader: () => reloader,
    watchingConfig: options.watchDebounceMs !== undefined,
    env,
  });
  const created = createConfigReloader({
    path,
    holder,
    log: app.log,
    overrides: {},
    env,
    ownedEnv,
    createRuntime: build,
  });
  reloader = created;
  await app.listen({ host: "127.0.0.1", port: 0 });
  let watch: ConfigWatch | undefined;
  if (options.watchDebounceMs !== undefined) {
    watch = await watchConfigFile(path, (content) => created.reload("watch", content), {
      log: app.log,
      debounceMs: options.watchDebounceMs,
      settleMs: options.watchSettleMs,
    });
  }
  const port = (app.server.address() as AddressInfo).port;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    port,
    path,
    env,
    holder,
    reloader: created,
    logs,
    write: (text) => writeFileSync(path, text),
    close: async () => {
      watch?.close();
      await app.close();
      await holder.current.close();
    },
  };
}
