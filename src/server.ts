/**
 * buildServer: the Fastify app with both edges (OpenAI facade and Connect/gRPC) as sibling plugins over one
 * core. It never listens, so tests can inject() or listen on a port of their choosing.
 */
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from "fastify";
import { configRoutes } from "./admin/config-routes.ts";
import { keysRoutes } from "./admin/keys-routes.ts";
import type { ConfigReloader } from "./admin/reloader.ts";
import { usageRoutes } from "./admin/usage-routes.ts";
import { principalOf, registerAuth } from "./auth/auth-hook.ts";
import { restrictCore } from "./auth/restrict-core.ts";
import type { RuntimeHolder } from "./core/runtime.ts";
import { docsPlugin } from "./docs/docs-plugin.ts";
import { openAIRouteEdge } from "./edge/openai-route-edge.ts";
import { edgeResolver, type RouteEdge } from "./edge/route-edge.ts";
import type { LimitCounters } from "./governance/counters.ts";
import { KeyCache } from "./governance/key-cache.ts";
import { createLimitGate, registerLimitGate } from "./governance/limit-hook.ts";
import { MemoryLimitCounters } from "./governance/memory-counters.ts";
import { registerPricing } from "./governance/pricing-hook.ts";
import { SpendWriter } from "./governance/spend-writer.ts";
import type { GovernanceStore } from "./governance/store.ts";
import type { StoreHealth } from "./governance/store-health.ts";
import { grpcHealthPlugin } from "./grpc/health-plugin.ts";
import { grpcPlugin } from "./grpc/plugin.ts";
import { grpcReflectionPlugin } from "./grpc/reflection-plugin.ts";
import { rpcRouteEdge } from "./grpc/route-edge.ts";
import { rpcProtocolOf } from "./grpc/rpc-reject.ts";
import { handleClientError, slowClientOptions } from "./http/client-limits.ts";
import { createErrorHandlers } from "./http/error-handler.ts";
import { withLogSerializers } from "./http/log-url.ts";
import { createReadiness, registerReadinessRoute } from "./http/readiness.ts";
import { requestIdOf } from "./http/request-id.ts";
import { registerRuntimeLeases } from "./http/request-runtime.ts";
import { messagesPlugin } from "./messages/plugin.ts";
import { capConnections } from "./net/connection-cap.ts";
import { openAIPlugin } from "./openai/plugin.ts";
import type { KeySource } from "./providers/registry.ts";
import { responsesPlugin } from "./responses/plugin.ts";
import { AccessLogController } from "./telemetry/access-log.ts";
import { createMetrics, publicModelCheck } from "./telemetry/metrics.ts";
import { type EdgeTracing, registerObservability } from "./telemetry/observability.ts";

/** Header and key fields that must never reach a log line. */
export const REDACTED_LOG_PATHS: readonly string[] = [
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers["x-goog-api-key"]',
  'req.headers["proxy-authorization"]',
  "req.headers.cookie",
  "headers.authorization",
  'headers["x-api-key"]',
  'headers["api-key"]',
  'headers["x-goog-api-key"]',
];

/** What the app is built from. */
export interface ServerDeps {
  readonly runtime: RuntimeHolder;
  /** Pino level, or false for no logging (tests). A pino-compatible instance may be given instead. */
  readonly logger: FastifyServerOptions["logger"];
  readonly loggerInstance?: FastifyServerOptions["loggerInstance"];
  /** Fastify options that choose the HTTP server (the one-port factory, or TLS); see src/net/. */
  readonly serverOptions?: object;
  /** Hot reload (POST /config/reload), created after the app; absent when the app was not started from a file. */
  readonly reloader?: () => ConfigReloader | undefined;
  /** Whether the config file is watched (shown by GET /config). */
  readonly watchingConfig?: boolean;
  /** The environment GET /config reports variables of (default: process.env). */
  readonly env?: KeySource;
  /** Span hooks for both edges, when the OpenTelemetry SDK was started (src/telemetry/start.ts). */
  readonly tracing?: EdgeTracing;
  /** Aborted when shutdown's drain timeout runs out: both edges end their calls with its reason (src/shutdown.ts). */
  readonly shutdownSignal?: AbortSignal;
  /** False sends plain gRPC calls through Connect's handler instead of the fast lane (tests only; default true). */
  readonly grpcFastLane?: boolean;
  /**
   * Where per-key limits are counted (src/governance/counters.ts): the cluster primary's with `server.workers > 1`,
   * Redis with many replicas. Default: this process's memory. Closed with the app.
   */
  readonly counters?: LimitCounters;
  /**
   * The governance store (virtual keys, spend log; src/governance/store.ts), opened by the process entry. Without
   * one there are no virtual keys and no `/admin/*` routes. Not closed by the app: the entry closes it after
   * app.close(), so onClose hooks (the spend writer's flush) can still write to it.
   */
  readonly store?: GovernanceStore;
  /** Shared stores (Redis) whose state `/ready` and `llm_proxy_store_up` report. */
  readonly stores?: readonly StoreHealth[];
  /** Subscribes to other replicas' key changes (Redis pub/sub); returns the unsubscribe function. */
  readonly onKeysChanged?: (listener: () => void) => () => void;
}

/** The package version, reported by /health. */
export const VERSION = "0.1.0";

/** Builds the app; call `listen` on it (or `inject` in tests). */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  // Fastify's generics follow the server type (http, http2, https), which is chosen at runtime from config;
  // every route here works on all of them, so the app is typed as the default instance.
  const accessLog = new AccessLogController({ requestIdLogLabel: "requestId" });
  const options: FastifyServerOptions = {
    // Request URLs are logged with the values of secret-named query parameters redacted (src/http/log-url.ts).
    ...withLogSerializers(
      deps.loggerInstance === undefined ? { logger: deps.logger } : { loggerInstance: deps.loggerInstance },
    ),
    bodyLimit: deps.runtime.current.config.server.bodyLimit,
    ...slowClientOptions(deps.runtime.current.config.server),
    clientErrorHandler: handleClientError,
    genReqId: requestIdOf,
    logController: accessLog,
    // Shutdown waits for in-flight streams; idle keep-alive sockets must not hold it up.
    forceCloseConnections: "idle",
    ...deps.serverOptions,
  };
  const app = Fastify(options) as unknown as FastifyInstance;
  // server.max_connections follows reloads: the cap reads the config in force at each accepted connection.
  const connections = capConnections(
    app.server,
    () => deps.runtime.current.config.server.maxConnections,
    app.log,
  );
  // The spend log: one row per model call, queued by a completion listener and written in batches off the
  // request path (src/governance/spend-writer.ts). Its last rows are written on close, before the entry closes
  // the store.
  const spendWriter =
    deps.store === undefined || !deps.runtime.current.config.file.store.spend_log
      ? undefined
      : new SpendWriter({ spend: deps.store.spend, log: app.log });
  if (spendWriter !== undefined) app.addHook("onClose", async () => spendWriter.close());
  const metrics = createMetrics({
    isPublicModel: publicModelCheck(() => deps.runtime.current.config),
    spendRowsDropped: spendWriter === undefined ? undefined : () => spendWriter.dropped,
    connections,
    stores: deps.stores,
  });
  // Per-key limits: admitted after auth (below), settled when the request ends, whatever the ending.
  const store = deps.store;
  const counters =
    deps.counters ??
    new MemoryLimitCounters({
      // A budget's spend so far in its period, read once per key: budgets survive a restart.
      spentSince: store === undefined ? undefined : (keyId, from) => store.spend.spentSince(keyId, from),
      onSeedError: (keyId, error) =>
        app.log.warn({ err: error, keyId }, "budget not seeded from the spend log: it starts at zero"),
    });
  app.addHook("onClose", async () => counters.close());
  const limitGate = createLimitGate(counters, edgeResolver(fallbackEdge));
  // First, so every request (refused ones too) gets its record, access line and metrics; adds GET /metrics.
  const completions =
    spendWriter === undefined ? [limitGate.settle] : [limitGate.settle, spendWriter.completion];
  registerObservability(app, { metrics, accessLog, tracing: deps.tracing, completions });

  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    done();
  });
  // Each request leases the runtime current when it arrived (reloads swap it), then passes the key check.
  const runtimeOf = registerRuntimeLeases(app, deps.runtime);
  registerPricing(app, runtimeOf);
  // Errors and refusals are written by the edge of the request's route (src/edge/route-edge.ts).
  const edgeOf = edgeResolver(fallbackEdge);
  // Virtual keys: loaded before the app serves, then kept fresh (src/governance/key-cache.ts).
  const keyCache = deps.store === undefined ? undefined : new KeyCache(deps.store.keys, app.log);
  if (keyCache !== undefined) {
    await keyCache.start();
    app.addHook("onClose", async () => keyCache.stop());
    // Another replica changed keys (scale-out): reload them now rather than at the next poll.
    const unfollow = deps.onKeysChanged?.(() => void keyCache.refresh());
    if (unfollow !== undefined) app.addHook("onClose", async () => unfollow());
  }
  registerAuth(app, runtimeOf, edgeOf, keyCache);
  registerLimitGate(app, limitGate);
  const errors = createErrorHandlers(edgeOf);
  app.setErrorHandler(errors.handleError);
  app.setNotFoundHandler(errors.handleNotFound);

  const getCore = (request: FastifyRequest) => restrictCore(runtimeOf(request).core, principalOf(request));
  app.get("/health", async () => ({
    status: "ok",
    version: VERSION,
    uptime_seconds: Math.round(process.uptime()),
  }));
  // Readiness (HTTP /ready and grpc.health.v1) turns NOT_SERVING as soon as shutdown starts draining.
  const readiness = createReadiness();
  app.addHook("preClose", async () => readiness.drain());
  registerReadinessRoute(app, readiness, deps.stores);
  await app.register(openAIPlugin, { getCore, shutdownSignal: deps.shutdownSignal });
  await app.register(messagesPlugin, { getCore, shutdownSignal: deps.shutdownSignal });
  await app.register(responsesPlugin, { getCore, shutdownSignal: deps.shutdownSignal });
  await app.register(grpcPlugin, {
    getCore,
    readMaxBytes: deps.runtime.current.config.server.bodyLimit,
    tracing: deps.tracing,
    shutdownSignal: deps.shutdownSignal,
    fastLane: deps.grpcFastLane,
  });
  await app.register(grpcReflectionPlugin);
  await app.register(grpcHealthPlugin, { readiness });
  // The /admin routes of the store are documented only where they are served.
  await app.register(docsPlugin, { version: VERSION, governance: deps.store !== undefined });
  await app.register(configRoutes, {
    runtimeOf,
    reloader: deps.reloader ?? (() => undefined),
    env: deps.env ?? process.env,
    watching: deps.watchingConfig ?? false,
  });
  if (deps.store !== undefined && keyCache !== undefined) {
    await app.register(keysRoutes, { store: deps.store, keyCache, runtimeOf });
    await app.register(usageRoutes, { store: deps.store });
  }
  return app;
}

const HTTP_FALLBACK = openAIRouteEdge("http", false);
const RPC_FALLBACK = rpcRouteEdge("rpc", false);

/**
 * The edge answering requests outside any edge's routes (health, admin, docs) and unknown paths: a status in the
 * caller's RPC protocol when it speaks one, else OpenAI's envelope, which most of the gateway's HTTP clients read.
 */
function fallbackEdge(request: FastifyRequest): RouteEdge {
  return rpcProtocolOf(request) === undefined ? HTTP_FALLBACK : RPC_FALLBACK;
}
