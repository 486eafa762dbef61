/**
 * The baseline: a bare node:http + undici pass-through proxy, in its own process. It reads the request body,
 * forwards it with the same path and headers (minus hop-by-hop ones) over a keep-alive undici Agent, and streams
 * the response bytes back as they come. No parsing, no logging: what any gateway costs at the very least.
 *
 * `--mode` picks how the bytes go back: `dispatch` (default, undici handler callbacks writing into the response:
 * the cheapest, so the most demanding baseline), `stream` (undici `stream()`), or `request` (`request()` +
 * `pipeline()`, the textbook version, about twice the CPU per request of `dispatch` here).
 *
 * `--framework fastify` serves the same handler from a minimal Fastify app (one route, the body read as a
 * Buffer, the reply hijacked, no logger, no hooks): the floor of any gateway built on Fastify, which the
 * benchmark reports beside the gateway. `--h2c` serves HTTP/2 cleartext (prior knowledge) instead of HTTP/1.1,
 * for the 10,000-stream phase.
 *
 * Usage: `node bench/passthrough.ts --upstream http://127.0.0.1:PORT [--port 0] [--connections 256]
 * [--mode dispatch|stream|request] [--framework node|fastify] [--h2c]`; prints `{"event":"ready","port":N}`.
 * @see https://undici.nodejs.org/#/docs/api/Agent
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { createServer as createH2cServer, type Http2ServerRequest } from "node:http2";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import Fastify, { type FastifyInstance } from "fastify";
import { Agent, type Dispatcher } from "undici";
import { announceReady, readFlags } from "./lib/protocol.ts";

/** What the handlers read of a request, on HTTP/1.1 and HTTP/2 alike. */
type ProxiedRequest = IncomingMessage | Http2ServerRequest;

/** What they write the answer to: node:http's ServerResponse and node:http2's compat response alike. */
interface ProxiedResponse extends Writable {
  readonly headersSent: boolean;
  writeHead(statusCode: number, headers: Record<string, string | string[]>): unknown;
}

/** Headers that describe one connection, not the message; never forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
  "content-length",
]);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    // HTTP/2 pseudo-headers (:method, :path, ...) describe the request line, not the message.
    if (value !== undefined && !HOP_BY_HOP.has(name) && !name.startsWith(":")) out[name] = value;
  }
  return out;
}

function readBody(request: ProxiedRequest): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    request.on("data", (part: Buffer) => parts.push(part));
    request.on("end", () =>
      resolve(parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts)),
    );
    request.on("error", reject);
  });
}

type Handler = (request: ProxiedRequest, response: ProxiedResponse, body: Buffer) => void;

function responseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out = forwardable(headers);
  const length = headers["content-length"];
  if (typeof length === "string") out["content-length"] = length;
  return out;
}

function failed(response: ProxiedResponse, error: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const message = JSON.stringify({
    error: { message: `pass-through: ${String(error)}`, type: "upstream_error" },
  });
  response.writeHead(502, { "content-type": "application/json" });
  response.end(message);
}

function options(origin: string, request: ProxiedRequest, body: Buffer): Dispatcher.DispatchOptions {
  return {
    origin,
    path: request.url ?? "/",
    method: request.method === "POST" ? "POST" : "GET",
    headers: forwardable(request.headers),
    body: body.length > 0 ? body : null,
  };
}

/** The leanest: undici's handler callbacks write straight into the response, with backpressure. */
function dispatchHandler(agent: Agent, origin: string): Handler {
  return (request, response, body) => {
    agent.dispatch(options(origin, request, body), {
      onRequestStart() {},
      onResponseStart(_controller, statusCode, headers) {
        response.writeHead(statusCode, responseHeaders(headers));
      },
      onResponseData(controller, chunk) {
        if (!response.write(chunk)) {
          controller.pause();
          response.once("drain", () => controller.resume());
        }
      },
      onResponseEnd() {
        response.end();
      },
      onResponseError(_controller, error) {
        failed(response, error);
      },
    });
  };
}

/** undici's proxy-oriented API: `stream()` writes the body into the Writable the factory returns. */
function streamHandler(agent: Agent, origin: string): Handler {
  return (request, response, body) => {
    agent
      .stream(options(origin, request, body), ({ statusCode, headers }) => {
        response.writeHead(statusCode, responseHeaders(headers));
        return response;
      })
      .catch((error: unknown) => failed(response, error));
  };
}

/** The textbook one: `request()` and `pipeline()` of its body into the response. */
function requestHandler(agent: Agent, origin: string): Handler {
  return (request, response, body) => {
    agent
      .request(options(origin, request, body))
      .then((upstream) => {
        response.writeHead(upstream.statusCode, responseHeaders(upstream.headers));
        return pipeline(upstream.body, response);
      })
      .catch((error: unknown) => failed(response, error));
  };
}

const MODES = { dispatch: dispatchHandler, stream: streamHandler, request: requestHandler };

function isMode(value: string): value is keyof typeof MODES {
  return Object.hasOwn(MODES, value);
}

/** Serves `handler` with node:http (or node:http2 with `h2c`); resolves once it listens and has said so. */
function serveWithNode(handler: Handler, h2c: boolean, host: string, port: number): Promise<Closable> {
  const onRequest = (request: ProxiedRequest, response: ProxiedResponse): void => {
    readBody(request).then(
      (body) => handler(request, response, body),
      (error: unknown) => failed(response, error),
    );
  };
  const server = h2c
    ? createH2cServer({ settings: { maxConcurrentStreams: 1000 } }, onRequest)
    : createServer({ keepAliveTimeout: 120_000, requestTimeout: 0 }, onRequest);
  return new Promise((resolve) => {
    server.listen(port, host, () => {
      announceReady(server, port);
      resolve({ close: () => server.close() });
    });
  });
}

/** The same from a minimal Fastify app: one catch-all route, the raw body, the reply hijacked. */
async function serveWithFastify(
  handler: Handler,
  h2c: boolean,
  host: string,
  port: number,
): Promise<Closable> {
  // Fastify's generics follow the server kind; this app only hands the raw request and response on, which
  // the handler takes in both kinds, so it is typed as the default instance (as src/server.ts does).
  const app = (h2c ? Fastify({ http2: true }) : Fastify()) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
  app.route({
    method: ["GET", "POST"],
    url: "/*",
    handler: (request, reply) => {
      reply.hijack();
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      handler(request.raw, reply.raw, body);
    },
  });
  await app.listen({ port, host });
  announceReady(app.server, port);
  return { close: () => void app.close() };
}

interface Closable {
  close(): void;
}

async function main(): Promise<void> {
  const flags = readFlags(process.argv.slice(2));
  const upstream = flags.get("upstream");
  if (upstream === undefined) throw new Error("--upstream URL is required");
  const origin = new URL(upstream).origin;
  const host = flags.get("host") ?? "127.0.0.1";
  const port = Number(flags.get("port") ?? "0");
  // The same pool settings as the gateway's transport (src/providers/transport.ts), for a fair baseline.
  const agent = new Agent({
    connections: Number(flags.get("connections") ?? "256"),
    keepAliveTimeout: 30_000,
    bodyTimeout: 0,
    headersTimeout: 0,
  });
  const mode = flags.get("mode") ?? "dispatch";
  if (!isMode(mode)) throw new Error(`--mode must be one of ${Object.keys(MODES).join(", ")}`);
  const framework = flags.get("framework") ?? "node";
  if (framework !== "node" && framework !== "fastify") throw new Error("--framework must be node or fastify");
  const h2c = flags.get("h2c") === "true";
  const handler = MODES[mode](agent, origin);
  const server =
    framework === "fastify"
      ? await serveWithFastify(handler, h2c, host, port)
      : await serveWithNode(handler, h2c, host, port);
  const stop = (): void => {
    server.close();
    void agent.close();
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

await main();
