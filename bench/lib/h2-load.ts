/**
 * The load generator's HTTP/2 side (node:http2, prior knowledge, cleartext): gRPC calls with a ready-made
 * length-prefixed body, and OpenAI SSE requests multiplexed over a few sessions (how 10,000 concurrent streams
 * fit in the gateway's file-descriptor limit: one h2c session carries many streams, where HTTP/1.1 needs a
 * socket each). Each request is timed like the HTTP/1.1 ones (dispatch → last byte, first body byte) and checked:
 * gRPC needs `grpc-status: 0` and at least one message, SSE a 200 and a final `data: [DONE]`.
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
} from "node:http2";
import { performance } from "node:perf_hooks";
import type { RunSpec } from "./protocol.ts";

/** How one request ended: an error message or undefined, its latency and time to first byte (ms). */
export type Outcome = (error: string | undefined, latencyMs: number, ttfbMs: number) => void;

const DONE_MARKER = Buffer.from("data: [DONE]");
/** Streams per session: below the gateway's SETTINGS_MAX_CONCURRENT_STREAMS (1000) with room to spare. */
const STREAMS_PER_SESSION = 100;

const sessions = new Map<string, ClientHttp2Session[]>();

function sessionsFor(origin: string, concurrency: number): ClientHttp2Session[] {
  const wanted = Math.max(1, Math.ceil(concurrency / STREAMS_PER_SESSION));
  let pool = sessions.get(origin)?.filter((session) => !session.closed && !session.destroyed) ?? [];
  while (pool.length < wanted) {
    const session = connect(origin, { peerMaxConcurrentStreams: 1000 });
    session.on("error", () => {});
    session.setMaxListeners(0);
    pool.push(session);
  }
  pool = pool.slice(0, Math.max(wanted, pool.length));
  sessions.set(origin, pool);
  return pool;
}

/** Closes every session (end of a run by hand, or the generator's shutdown). */
export async function closeH2Sessions(): Promise<void> {
  const all = [...sessions.values()].flat();
  sessions.clear();
  await Promise.all(all.map((session) => new Promise<void>((resolve) => session.close(() => resolve()))));
}

/** The parts of a run that do not change per request. */
export interface H2Request {
  readonly session: () => ClientHttp2Session;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly grpc: boolean;
}

/** Prepares a spec's requests (sessions are shared by every run to the same origin). */
export function prepareH2(spec: RunSpec): H2Request {
  const url = new URL(spec.url);
  const pool = sessionsFor(url.origin, spec.concurrency);
  let next = 0;
  const grpc = spec.protocol === "grpc";
  return {
    session: () => pool[next++ % pool.length] as ClientHttp2Session,
    headers: {
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: url.pathname,
      "content-type": grpc ? "application/grpc" : "application/json",
      ...(grpc ? { te: "trailers" } : {}),
      ...spec.headers,
    },
    body: grpc ? Buffer.from(spec.body, "base64") : Buffer.from(spec.body),
    grpc,
  };
}

/** gRPC: status 0 (in the trailers, or the headers of a trailers-only answer) and at least one message. */
function grpcVerdict(
  headers: IncomingHttpHeaders,
  trailers: IncomingHttpHeaders,
  bytes: number,
): string | undefined {
  const status = trailers["grpc-status"] ?? headers["grpc-status"];
  if (status !== "0") {
    const message = trailers["grpc-message"] ?? headers["grpc-message"];
    return `grpc-status ${String(status)}: ${decodeURIComponent(String(message ?? ""))}`;
  }
  return bytes >= 5 ? undefined : "gRPC answer without a message";
}

/** Sends one request on an h2 session and reports how it ended. */
export function sendH2(request: H2Request, done: Outcome): void {
  const start = performance.now();
  let ttfb = -1;
  let bytes = 0;
  let tail: Buffer | undefined;
  let responseHeaders: IncomingHttpHeaders = {};
  let trailers: IncomingHttpHeaders = {};
  let finished = false;
  const finish = (error: string | undefined): void => {
    if (finished) return;
    finished = true;
    const now = performance.now();
    done(error, now - start, ttfb < 0 ? now - start : ttfb);
  };
  let stream: ClientHttp2Stream;
  try {
    stream = request.session().request(request.headers, { endStream: false });
  } catch (error) {
    finish(String(error));
    return;
  }
  stream.on("response", (headers) => {
    responseHeaders = headers;
  });
  stream.on("trailers", (headers) => {
    trailers = headers;
  });
  stream.on("data", (chunk: Buffer) => {
    if (ttfb < 0) ttfb = performance.now() - start;
    bytes += chunk.length;
    // The last event is 14 bytes: a last chunk of 16 or more holds it whole, a shorter one is joined to the tail.
    tail = tail === undefined || chunk.length >= 16 ? chunk : Buffer.concat([tail, chunk]);
  });
  stream.on("error", (error) => finish(error.message || error.name));
  stream.on("close", () => {
    if (request.grpc) return finish(grpcVerdict(responseHeaders, trailers, bytes));
    // node:http2 gives :status as a number, though the header type says string.
    const status = Number(responseHeaders[constants.HTTP2_HEADER_STATUS]);
    if (status !== 200) return finish(`status ${status}`);
    finish(
      tail !== undefined && tail.lastIndexOf(DONE_MARKER) >= 0 ? undefined : "stream did not end with [DONE]",
    );
  });
  stream.end(request.body);
}
