/** Starts the real app on 127.0.0.1 (port from the OS) behind the one-port HTTP/1.1 + h2c factory. */

import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { parseConfig } from "../../src/config/load.ts";
import { createRuntime, createRuntimeHolder, type RuntimeOverrides } from "../../src/core/runtime.ts";
import { createDualServerFactory } from "../../src/net/server-factory.ts";
import { buildServer, type ServerDeps } from "../../src/server.ts";
import { createCapturedLogger } from "./captured-logger.ts";

/** A running gateway and everything it logged. */
export interface RunningServer {
  readonly app: FastifyInstance;
  readonly port: number;
  readonly url: string;
  /** Parsed JSON log lines, in order. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * buildServer options a test may set besides the config (which path gRPC calls take, the edges' tracing, the
 * governance store), and the log level.
 */
export type ServerTestOptions = Pick<ServerDeps, "grpcFastLane" | "tracing" | "store"> & {
  /** Level of the captured logger (default `info`; `debug` adds Fastify's "incoming request" lines). */
  readonly logLevel?: string;
};

/** Starts the gateway from YAML. */
export async function startServer(
  yaml: string,
  overrides: RuntimeOverrides = {},
  options: ServerTestOptions = {},
): Promise<RunningServer> {
  const { logLevel, ...buildOptions } = options;
  const { loggerInstance, logs } = createCapturedLogger(logLevel);
  const runtime = createRuntimeHolder(createRuntime(parseConfig(yaml, "e2e.yaml"), overrides));
  const app = await buildServer({
    ...buildOptions,
    runtime,
    logger: undefined,
    loggerInstance,
    serverOptions: { serverFactory: createDualServerFactory().serverFactory },
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    app,
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    close: async () => {
      await app.close();
      await runtime.current.close();
    },
  };
}
