/** Shared pieces of the test/net tests: a tiny echo app on the dual server, raw clients, polling. */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type RawServerBase } from "fastify";
import { DualProtocolServer } from "../../src/net/dual-server.ts";
import { createDualServerFactory, type DualServerOptions } from "../../src/net/server-factory.ts";

/** GET /hello answers the HTTP version; POST /echo returns the raw body bytes. */
export const echoRoutes: FastifyPluginAsync<Record<never, never>, RawServerBase> = async (app) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
  app.get("/hello", async (request) => ({ httpVersion: request.raw.httpVersion }));
  app.post("/echo", async (request, reply) => {
    reply.header("x-http-version", request.raw.httpVersion);
    reply.type("application/octet-stream");
    return request.body;
  });
};

export interface DualApp {
  readonly app: FastifyInstance;
  readonly server: DualProtocolServer;
  readonly port: number;
}

/** Starts the echo app on 127.0.0.1, port from the OS. */
export async function startDualApp(options: DualServerOptions = {}): Promise<DualApp> {
  const app = Fastify({ serverFactory: createDualServerFactory(options).serverFactory });
  await app.register(echoRoutes);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { server } = app;
  if (!(server instanceof DualProtocolServer)) throw new Error("serverFactory was not used");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return { app, server, port: address.port };
}

export function connectionCount(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.getConnections((error, count) => (error ? reject(error) : resolve(count)));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `probe` returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Rejects naming `what` unless `promise` settles within `ms`. */
export async function within<T>(ms: number, what: string, promise: PromiseLike<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with the milliseconds fastify.close() took; rejects rather than hang when it never ends. */
export async function timeClose(app: { close(): PromiseLike<unknown> }): Promise<number> {
  const started = performance.now();
  await within(5000, "fastify.close()", app.close());
  return performance.now() - started;
}

export function connectRaw(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => resolve(socket));
    socket.setNoDelay(true);
    socket.once("error", reject);
  });
}

/** Collects everything the peer sends until it closes. */
export function readAll(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("error", reject);
    socket.once("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
  });
}

export function whenClosed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once("close", () => resolve());
  });
}

export interface Http1Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly reusedSocket: boolean;
}

export function http1Request(
  port: number,
  init: { method: string; path: string; body?: Buffer; agent?: http.Agent },
): Promise<Http1Response> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: "127.0.0.1",
        port,
        method: init.method,
        path: init.path,
        agent: init.agent ?? false,
        headers: init.body ? { "content-type": "application/octet-stream" } : {},
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
            reusedSocket: request.reusedSocket,
          }),
        );
      },
    );
    request.on("error", reject);
    request.end(init.body);
  });
}

export interface Http2Response {
  readonly status: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly body: Buffer;
}

export function http2Request(
  session: http2.ClientHttp2Session,
  init: { method: string; path: string; body?: Buffer },
): Promise<Http2Response> {
  return new Promise((resolve, reject) => {
    const headers: http2.OutgoingHttpHeaders = { ":method": init.method, ":path": init.path };
    if (init.body) headers["content-type"] = "application/octet-stream";
    const stream = session.request(headers);
    let responseHeaders: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (received) => {
      responseHeaders = received;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () =>
      resolve({
        status: Number(responseHeaders[":status"]),
        headers: responseHeaders,
        body: Buffer.concat(chunks),
      }),
    );
    stream.on("error", reject);
    stream.end(init.body);
  });
}

export function connectHttp2(port: number): Promise<http2.ClientHttp2Session> {
  return whenConnected(http2.connect(`http://127.0.0.1:${port}`));
}

function whenConnected(session: http2.ClientHttp2Session): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    session.once("connect", () => resolve(session));
    session.once("error", reject);
  });
}
