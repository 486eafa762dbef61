/** Starts the real app on 127.0.0.1 (port from the OS) behind the one-port HTTP/1.1 + h2c factory. */

import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { parseConfig } from "../../src/config/load.ts";
import { createRuntime, createRuntimeHolder, type RuntimeOverrides } from "../../src/core/runtime.ts";
import { createDualServerFactory } from "../../src/net/server-factory.ts";
import { buildServer, REDACTED_LOG_PATHS } from "../../src/server.ts";

/** A running gateway and everything it logged. */
export interface RunningServer {
  readonly app: FastifyInstance;
  readonly port: number;
  readonly url: string;
  /** Parsed JSON log lines, in order. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Starts the gateway from YAML. */
export async function startServer(yaml: string, overrides: RuntimeOverrides = {}): Promise<RunningServer> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") logs.push(JSON.parse(line));
      callback();
    },
  });
  const loggerInstance = pino(
    { level: "info", redact: { paths: [...REDACTED_LOG_PATHS], censor: "[redacted]" } },
    sink,
  );
  const runtime = createRuntimeHolder(createRuntime(parseConfig(yaml, "e2e.yaml"), overrides));
  const app = await buildServer({
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
