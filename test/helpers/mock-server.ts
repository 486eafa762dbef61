/**
 * The HTTP plumbing shared by the tests' mock vendors and collectors: node:http on 127.0.0.1 with a port from
 * the OS, each request's body read whole (UTF-8) before the handler runs, and a close that also drops idle
 * keep-alive connections so an afterAll never waits on them. `startMockUpstream` adds what every mock vendor
 * does on top: parse the JSON body and record each request for the test to assert on.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A running loopback server. */
export interface LoopbackServer {
  readonly server: Server;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  close(): Promise<void>;
}

/** Answers one request whose body has been read. May be async; nothing awaits it. */
export type BodyHandler = (request: IncomingMessage, body: string, response: ServerResponse) => unknown;

/** Starts `handle` on 127.0.0.1 with a port from the OS. */
export async function startLoopbackServer(handle: BodyHandler): Promise<LoopbackServer> {
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (piece: string) => {
      body += piece;
    });
    request.on("end", () => handle(request, body, response));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A JSON object body, or {} for anything else (a mock vendor answers that as the real one would). */
export function parseJsonObject(raw: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** One request as the vendor received it. */
export interface RecordedUpstreamRequest {
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: Record<string, unknown>;
}

/** A running mock vendor. */
export interface MockUpstream {
  /** The origin plus the vendor's API base path, for a provider's base_url. */
  readonly baseUrl: string;
  readonly requests: RecordedUpstreamRequest[];
  close(): Promise<void>;
}

/** Answers one recorded request. */
export type UpstreamHandler = (
  recorded: RecordedUpstreamRequest,
  request: IncomingMessage,
  response: ServerResponse,
) => void;

/**
 * Starts a mock vendor serving under `basePath` (e.g. "/v1"): each request's body is parsed with `parseBody`
 * and recorded before `answer` runs.
 */
export async function startMockUpstream(
  basePath: string,
  answer: UpstreamHandler,
  parseBody: (raw: string) => Record<string, unknown> = parseJsonObject,
): Promise<MockUpstream> {
  const requests: RecordedUpstreamRequest[] = [];
  const server = await startLoopbackServer((request, raw, response) => {
    const recorded = { url: request.url ?? "", headers: request.headers, body: parseBody(raw) };
    requests.push(recorded);
    answer(recorded, request, response);
  });
  return { baseUrl: `${server.origin}${basePath}`, requests, close: server.close };
}
