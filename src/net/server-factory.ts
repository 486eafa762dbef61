/**
 * The Fastify `serverFactory` for one cleartext port serving HTTP/1.1 and h2c:
 * `Fastify({ serverFactory: createDualServerFactory(options).serverFactory })`.
 * fastify.close() then closes everything, h2 sessions included (see DualProtocolServer.close).
 * @see https://fastify.dev/docs/latest/Reference/Server/#serverfactory
 */
import type http from "node:http";
import type { FastifyServerFactory } from "fastify";
import { DualProtocolServer, type DualRequestHandler, type DualServerLogger } from "./dual-server.ts";

export interface DualServerOptions {
  /** Milliseconds a new connection has to send its first bytes before it is destroyed. Default 10 s. */
  readonly sniffTimeoutMs?: number;
  /** Idle h2 session timeout in milliseconds, 0 disables. Default: Fastify's `http2SessionTimeout` (72 s). */
  readonly http2SessionTimeoutMs?: number;
  /** Concurrent streams (gRPC calls) allowed per h2 connection. Default 1000. */
  readonly http2MaxConcurrentStreams?: number;
  /** Receives debug lines about dropped connections and h2 session errors. */
  readonly logger?: DualServerLogger;
}

export interface DualServerFactory {
  /** Pass as Fastify's `serverFactory`. Fastify may call it more than once (one server per bound address). */
  readonly serverFactory: FastifyServerFactory<http.Server>;
}

export const DEFAULT_SNIFF_TIMEOUT_MS = 10_000;
export const DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS = 1000;
/** Fastify's own default for `http2SessionTimeout`. */
const FASTIFY_DEFAULT_HTTP2_SESSION_TIMEOUT_MS = 72_000;

/** Creates the factory; the http1 timeouts come from the Fastify options it is called with. */
export function createDualServerFactory(options: DualServerOptions = {}): DualServerFactory {
  const serverFactory: FastifyServerFactory<http.Server> = (handler, fastifyOptions) => {
    const server = new DualProtocolServer(
      // Fastify types its handler for the server type it was given, but the function serves http2
      // compat requests as well: it is the same one Fastify passes to http2.createServer.
      handler as DualRequestHandler,
      {
        sniffTimeoutMs: options.sniffTimeoutMs ?? DEFAULT_SNIFF_TIMEOUT_MS,
        http2SessionTimeoutMs:
          options.http2SessionTimeoutMs ??
          numberOption(fastifyOptions, "http2SessionTimeout") ??
          FASTIFY_DEFAULT_HTTP2_SESSION_TIMEOUT_MS,
        http2MaxConcurrentStreams: options.http2MaxConcurrentStreams ?? DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS,
        http2SocketTimeoutMs: numberOption(fastifyOptions, "connectionTimeout") ?? 0,
        http2RequestTimeoutMs: numberOption(fastifyOptions, "requestTimeout") ?? 0,
        logger: options.logger,
      },
      // Fastify's own factory hands its `http` option (headersTimeout, requestTimeout, ...) to http.createServer.
      httpServerOptions(fastifyOptions),
    );
    applyFastifyHttp1Options(server, fastifyOptions);
    return server;
  };
  return { serverFactory };
}

/**
 * With a serverFactory, Fastify leaves server tuning to the factory; apply its options the way its own
 * factory does (lib/server.js getServerInstance) so `Fastify({ keepAliveTimeout, ... })` still works.
 */
function applyFastifyHttp1Options(server: http.Server, fastifyOptions: Record<string, unknown>): void {
  const keepAliveTimeout = numberOption(fastifyOptions, "keepAliveTimeout");
  if (keepAliveTimeout !== undefined) server.keepAliveTimeout = keepAliveTimeout;
  const requestTimeout = numberOption(fastifyOptions, "requestTimeout");
  if (requestTimeout !== undefined) server.requestTimeout = requestTimeout;
  const connectionTimeout = numberOption(fastifyOptions, "connectionTimeout");
  if (connectionTimeout !== undefined) server.setTimeout(connectionTimeout);
  const maxRequestsPerSocket = numberOption(fastifyOptions, "maxRequestsPerSocket");
  if (maxRequestsPerSocket !== undefined && maxRequestsPerSocket > 0) {
    server.maxRequestsPerSocket = maxRequestsPerSocket;
  }
}

function httpServerOptions(options: Record<string, unknown>): http.ServerOptions {
  const value = options.http;
  return typeof value === "object" && value !== null ? (value as http.ServerOptions) : {};
}

function numberOption(options: Record<string, unknown>, key: string): number | undefined {
  const value = options[key];
  return typeof value === "number" ? value : undefined;
}
