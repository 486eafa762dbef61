/**
 * One listening socket for HTTP/1.1 and h2c with prior knowledge (gRPC). Fastify alone cannot do this:
 * with `http2: true` and no TLS, `allowHTTP1` is ignored and HTTP/1.1 clients fail. So the server Fastify
 * gets is a real `http.Server` (listen, close, keep-alive and timeouts keep working) whose 'connection'
 * listener sniffs the first bytes; h2c sockets go to a side `http2.Server` that never listens. Both call
 * the same Fastify handler, which switches per request on `httpVersionMajor`.
 * @see https://fastify.dev/docs/latest/Reference/Server/#serverfactory
 * @see https://nodejs.org/api/http2.html#compatibility-api
 */
import http from "node:http";
import http2 from "node:http2";
import type { Socket } from "node:net";
import type { FastifyBaseLogger } from "fastify";
import type { SniffedProtocol } from "./h2-preface.ts";
import { timeOutSlowRequests } from "./h2-request-timeout.ts";
import { type SniffAbandonReason, sniffConnection } from "./sniff-connection.ts";

/** Fastify's request handler, which accepts both http1 and http2 compat objects at runtime. */
export type DualRequestHandler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** The logger calls the server makes (a pino or Fastify logger fits). */
export type DualServerLogger = Pick<FastifyBaseLogger, "debug">;

/** Fully resolved settings of one DualProtocolServer. */
export interface DualServerSettings {
  /** Milliseconds a new connection has to send enough bytes to pick a protocol. */
  readonly sniffTimeoutMs: number;
  /** Idle milliseconds after which an h2 session is closed with GOAWAY; 0 disables. */
  readonly http2SessionTimeoutMs: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS advertised to h2 clients. */
  readonly http2MaxConcurrentStreams: number;
  /** Inactivity timeout of h2 sockets (Fastify's `connectionTimeout`, which http1 gets via setTimeout); 0 = none. */
  readonly http2SocketTimeoutMs: number;
  /** Milliseconds an h2 stream has to deliver its whole request, as http1's `requestTimeout`; 0 = none. */
  readonly http2RequestTimeoutMs: number;
  readonly logger: DualServerLogger | undefined;
}

/** Counters of the connections only this class knows about (the rest are in `getConnections`). */
export interface DualServerStats {
  /** Connections whose protocol is not known yet. */
  readonly sniffing: number;
  /** Open h2 sessions. */
  readonly http2Sessions: number;
}

/** An `http.Server` that also serves h2c on the same socket. */
export class DualProtocolServer extends http.Server {
  readonly #settings: DualServerSettings;
  readonly #http2: http2.Http2Server;
  readonly #http1ConnectionListeners: ReturnType<http.Server["listeners"]>;
  readonly #sniffing = new Set<Socket>();
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  #closing = false;

  /** `httpOptions`: node:http server options for the HTTP/1.1 side (e.g. Fastify's `http` option: timeouts). */
  constructor(
    handler: DualRequestHandler,
    settings: DualServerSettings,
    httpOptions: http.ServerOptions = {},
  ) {
    super(httpOptions, handler);
    this.#settings = settings;
    this.#http2 = http2.createServer(
      // Each gRPC call is a stream and clients multiplex every call on one connection.
      { settings: { maxConcurrentStreams: settings.http2MaxConcurrentStreams } },
      handler,
    );
    this.#http2.setTimeout(settings.http2SocketTimeoutMs);
    timeOutSlowRequests(this.#http2, settings.http2RequestTimeoutMs);
    this.#http2.on("session", (session) => this.#trackSession(session));
    this.#http2.on("sessionError", (error) => settings.logger?.debug({ err: error }, "h2 session error"));
    // Node's http1 connection listener must only see HTTP/1.1 sockets; keep it to call after sniffing.
    this.#http1ConnectionListeners = this.listeners("connection");
    this.removeAllListeners("connection");
    this.on("connection", (socket: Socket) => this.#sniff(socket));
  }

  /** Connections in the sniffing phase and open h2 sessions. */
  stats(): DualServerStats {
    return { sniffing: this.#sniffing.size, http2Sessions: this.#sessions.size };
  }

  /**
   * Stops listening, then closes what http1's close() cannot see: sockets still sniffing are destroyed and
   * h2 sessions get GOAWAY (they finish their open streams, then close). Their sockets are counted on this
   * server, so without this the close callback (and fastify.close()) would wait forever.
   */
  override close(callback?: (error?: Error) => void): this {
    this.#closing = true;
    super.close(callback);
    for (const socket of this.#sniffing) socket.destroy();
    for (const session of this.#sessions) session.close();
    return this;
  }

  /** Also destroys sniffing sockets and h2 sessions (Fastify calls this with `forceCloseConnections: true`). */
  override closeAllConnections(): void {
    super.closeAllConnections();
    for (const socket of this.#sniffing) socket.destroy();
    for (const session of this.#sessions) session.destroy();
  }

  #sniff(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    this.#sniffing.add(socket);
    socket.once("close", () => this.#sniffing.delete(socket));
    sniffConnection(socket, {
      timeoutMs: this.#settings.sniffTimeoutMs,
      onProtocol: (protocol, sniffed) => {
        this.#sniffing.delete(sniffed);
        this.#handOff(protocol, sniffed);
      },
      onAbandon: (reason, abandoned, error) => {
        this.#sniffing.delete(abandoned);
        this.#logAbandon(reason, abandoned, error);
      },
    });
  }

  #handOff(protocol: SniffedProtocol, socket: Socket): void {
    if (protocol === "h2") {
      // http.Server accepts sockets with allowHalfOpen; http2 never ends its side after the peer's FIN,
      // so the session and socket would leak and close() would hang.
      socket.allowHalfOpen = false;
      // No resume here: http2 takes the unshifted preface from the socket's buffer on the next tick.
      this.#http2.emit("connection", socket);
      return;
    }
    for (const listener of this.#http1ConnectionListeners) Reflect.apply(listener, this, [socket]);
    // The http1 parser reads the unshifted bytes through the socket's 'data' events.
    socket.resume();
  }

  #trackSession(session: http2.ServerHttp2Session): void {
    this.#sessions.add(session);
    session.once("close", () => this.#sessions.delete(session));
    if (this.#settings.http2SessionTimeoutMs > 0) {
      session.setTimeout(this.#settings.http2SessionTimeoutMs, () => session.close());
    }
    // A session that starts while close() runs would otherwise stay open.
    if (this.#closing) session.close();
  }

  #logAbandon(reason: SniffAbandonReason, socket: Socket, error: Error | undefined): void {
    this.#settings.logger?.debug(
      { reason, remoteAddress: socket.remoteAddress, err: error },
      "connection closed before its protocol was known",
    );
  }
}
