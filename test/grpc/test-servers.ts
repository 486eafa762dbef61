/**
 * Two real Fastify apps with only the gRPC plugin and a fake core, on 127.0.0.1 port 0: one h2c (`http2: true`,
 * for gRPC and HTTP/2 clients) and one HTTP/1.1 (Connect and gRPC-web over 1.1). Each echoes `x-request-id` the
 * way the lead's server does, and captures its log lines.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import Fastify from "fastify";
import { type GrpcPluginOptions, grpcPlugin } from "../../src/grpc/plugin.ts";
import type { FakeCore } from "./fake-core.ts";

/** One pino line, as written by Fastify's logger. */
export interface LogLine {
  readonly level: number;
  readonly msg?: string;
  readonly reqId?: string;
  readonly kind?: string;
  readonly grpcCode?: number;
}

/** The running pair. */
export interface GrpcTestServers {
  /** h2c, prior knowledge. */
  readonly h2Url: string;
  /** HTTP/1.1 only. */
  readonly h1Url: string;
  readonly logs: LogLine[];
  close(): Promise<void>;
}

const PRINTABLE_ID = /^[\x21-\x7e]{1,128}$/;

/** Starts both apps around `core`; `options` adds plugin options (e.g. tracing hooks). */
export async function startGrpcServers(
  core: FakeCore,
  options: Omit<GrpcPluginOptions, "getCore"> = {},
): Promise<GrpcTestServers> {
  const logs: LogLine[] = [];
  const logger = {
    level: "info",
    stream: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
  };
  const genReqId = (request: { headers: Record<string, string | string[] | undefined> }): string => {
    const header = request.headers["x-request-id"];
    return typeof header === "string" && PRINTABLE_ID.test(header) ? header : randomUUID();
  };
  const h2 = Fastify({ http2: true, logger, genReqId });
  h2.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  await h2.register(grpcPlugin, { getCore: () => core, shutdownTimeoutMs: 1_000, ...options });
  const h1 = Fastify({ logger, genReqId });
  h1.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  await h1.register(grpcPlugin, { getCore: () => core, shutdownTimeoutMs: 1_000, ...options });
  await Promise.all([h2.listen({ host: "127.0.0.1", port: 0 }), h1.listen({ host: "127.0.0.1", port: 0 })]);
  const h2Url = urlOf(h2.server.address());
  const h1Url = urlOf(h1.server.address());
  return {
    h2Url,
    h1Url,
    logs,
    close: async () => {
      await Promise.all([h2.close(), h1.close()]);
    },
  };
}

function urlOf(address: string | AddressInfo | null): string {
  if (address === null || typeof address === "string")
    throw new Error(`unexpected address ${String(address)}`);
  return `http://127.0.0.1:${address.port}`;
}
