/**
 * buildServer: the Fastify app with both edges (OpenAI facade and Connect/gRPC) as sibling plugins over one
 * core. It never listens, so tests can inject() or listen on a port of their choosing.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";
import type { RuntimeHolder } from "./core/runtime.ts";
import { grpcPlugin } from "./grpc/plugin.ts";
import { handleError, handleNotFound } from "./http/error-handler.ts";
import { requestIdOf } from "./http/request-id.ts";
import { openAIPlugin } from "./openai/plugin.ts";

/** Header and key fields that must never reach a log line. */
export const REDACTED_LOG_PATHS: readonly string[] = [
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers["x-goog-api-key"]',
  "headers.authorization",
  'headers["x-api-key"]',
];

/** What the app is built from. */
export interface ServerDeps {
  readonly runtime: RuntimeHolder;
  /** Pino level, or false for no logging (tests). A pino-compatible instance may be given instead. */
  readonly logger: FastifyServerOptions["logger"];
  readonly loggerInstance?: FastifyServerOptions["loggerInstance"];
  /** Fastify options that choose the HTTP server (the one-port factory, or TLS); see src/net/. */
  readonly serverOptions?: object;
}

/** The package version, reported by /health. */
export const VERSION = "0.1.0";

/** Builds the app; call `listen` on it (or `inject` in tests). */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  // Fastify's generics follow the server type (http, http2, https), which is chosen at runtime from config;
  // every route here works on all of them, so the app is typed as the default instance.
  const options: FastifyServerOptions = {
    ...(deps.loggerInstance === undefined
      ? { logger: deps.logger }
      : { loggerInstance: deps.loggerInstance }),
    bodyLimit: deps.runtime.current.config.server.bodyLimit,
    genReqId: requestIdOf,
    logController: new LogController({ requestIdLogLabel: "requestId" }),
    // Shutdown waits for in-flight streams; idle keep-alive sockets must not hold it up.
    forceCloseConnections: "idle",
    ...deps.serverOptions,
  };
  const app = Fastify(options) as unknown as FastifyInstance;

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);

  const getCore = () => deps.runtime.current.core;
  app.get("/health", async () => ({
    status: "ok",
    version: VERSION,
    uptime_seconds: Math.round(process.uptime()),
  }));
  await app.register(openAIPlugin, { getCore });
  await app.register(grpcPlugin, { getCore, readMaxBytes: deps.runtime.current.config.server.bodyLimit });
  return app;
}
