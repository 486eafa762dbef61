/**
 * A scriptable OpenAI-compatible vendor on loopback (node:http) for failure injection. Each request takes the
 * next step of a queue (or asks a function); once the queue is empty it streams a normal answer. Steps: an
 * HTTP error with any headers (retry-after, retry-after-ms) and body; a connection reset before the headers;
 * a stall before the headers; a 200 whose first event is malformed; a stream of text pieces with a delay before the headers and between chunks, that
 * may then stall, reset, send malformed SSE, send an `error` event, or finish normally.
 *
 * Every request is recorded with `performance.now()` timestamps: when it arrived, when the mock finished it,
 * and when the gateway aborted it (the response closed before the mock finished), so tests can assert "the
 * upstream saw the abort within 100 ms" in the same clock as the client. Timers are cleared when a response
 * closes, so the mock leaves nothing behind in the test process.
 */
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { parseJsonObject, startLoopbackServer } from "./mock-server.ts";

/** What the mock does with one request. */
export type FaultStep =
  | {
      readonly kind: "error";
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      /** A string is sent as is; an object as JSON. Default: OpenAI's error envelope. */
      readonly body?: string | object;
    }
  /** Destroys the socket before sending anything. */
  | { readonly kind: "reset" }
  /** Never answers; the request stays open until the gateway gives up. */
  | { readonly kind: "stall" }
  /** A 200 event stream whose very first event is broken JSON. */
  | { readonly kind: "malformed" }
  | {
      readonly kind: "stream";
      /** Content deltas. Default: ["Hello", " from", " the", " mock"]. */
      readonly pieces?: readonly string[];
      /** Milliseconds before the status line (a slow first byte). */
      readonly headersDelayMs?: number;
      /** Milliseconds between two chunks. */
      readonly chunkDelayMs?: number;
      /** What happens after `afterPieces` content chunks (default: all) instead of finishing normally. */
      readonly ending?: "finish" | "stall" | "reset" | "malformed" | "error-event";
      readonly afterPieces?: number;
    };

/** One request as the mock saw it. */
export interface FaultRequest {
  readonly index: number;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
  /** `body.model`, the upstream model id. */
  readonly model: string;
  readonly requestId: string | undefined;
  readonly step: FaultStep;
  /** performance.now() when the body had arrived. */
  readonly receivedAt: number;
  /** When the mock ended the response on its own (normally, or by a scripted reset). */
  endedAt: number | undefined;
  /** When the gateway closed the request before the mock ended it. */
  abortedAt: number | undefined;
  /** Content chunks written. */
  chunksSent: number;
}

/** A queue of steps, or a function of the request (which may itself shift a per-test queue). */
export type FaultScript = FaultStep[] | ((request: Omit<FaultRequest, "step">) => FaultStep);

/** A running fault mock. */
export interface FaultUpstream {
  /** `http://127.0.0.1:<port>/v1`, for a provider's base_url. */
  readonly baseUrl: string;
  readonly port: number;
  readonly requests: FaultRequest[];
  /** Replaces the script (and keeps the records). */
  script(next: FaultScript): void;
  /** Forgets the recorded requests and the counters. */
  clear(): void;
  /** TCP connections currently open to the mock. */
  openConnections(): number;
  /** Requests currently being answered. */
  inFlight(): number;
  /** Most requests answered at the same time since the last clear(). */
  maxInFlight(): number;
  /** Resolves once `predicate` holds (polled every 5 ms), rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_PIECES = ["Hello", " from", " the", " mock"];
/** An SSE event whose JSON is cut off. */
const MALFORMED_EVENT = 'data: {"id":"chatcmpl-broken","choices":[{"index":0,"delta":{"content":"x"\n\n';

/** Starts the mock on 127.0.0.1 with a port from the OS. */
export async function startFaultUpstream(initial: FaultScript = []): Promise<FaultUpstream> {
  let script: FaultScript = initial;
  const requests: FaultRequest[] = [];
  const sockets = new Set<Socket>();
  let inFlight = 0;
  let maxInFlight = 0;
  const { server, port, origin, close } = await startLoopbackServer((request, raw, response) => {
    const body = parseJsonObject(raw);
    const seen = {
      index: requests.length,
      url: request.url ?? "",
      headers: request.headers,
      body,
      model: typeof body.model === "string" ? body.model : "",
      requestId:
        typeof request.headers["x-request-id"] === "string" ? request.headers["x-request-id"] : undefined,
      receivedAt: performance.now(),
      endedAt: undefined,
      abortedAt: undefined,
      chunksSent: 0,
    };
    const step = typeof script === "function" ? script(seen) : (script.shift() ?? { kind: "stream" });
    const recorded: FaultRequest = { ...seen, step };
    requests.push(recorded);
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    response.once("close", () => {
      inFlight -= 1;
      if (recorded.endedAt === undefined) recorded.abortedAt = performance.now();
    });
    perform(step, recorded, response);
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  return {
    baseUrl: `${origin}/v1`,
    port,
    requests,
    script(next) {
      script = next;
    },
    clear() {
      requests.length = 0;
      maxInFlight = inFlight;
    },
    openConnections: () => sockets.size,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    waitFor: (predicate, timeoutMs = 5_000) => waitFor(predicate, timeoutMs),
    close,
  };
}

/** Polls `predicate` every 5 ms. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Runs one step; every timer is cleared when the response closes (gateway abort or mock close). */
function perform(step: FaultStep, recorded: FaultRequest, response: ServerResponse): void {
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, run: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };
  response.once("close", () => {
    for (const timer of timers) clearTimeout(timer);
  });
  const end = (text?: string): void => {
    recorded.endedAt = performance.now();
    response.end(text);
  };
  switch (step.kind) {
    case "error": {
      const body = step.body ?? errorEnvelope(`mock failure ${step.status}`);
      response.writeHead(step.status, { "content-type": "application/json", ...step.headers });
      end(typeof body === "string" ? body : JSON.stringify(body));
      return;
    }
    case "reset":
      recorded.endedAt = performance.now();
      response.socket?.destroy();
      return;
    case "stall":
      return;
    case "malformed":
      response.writeHead(200, { "content-type": "text/event-stream" });
      end(MALFORMED_EVENT);
      return;
    case "stream":
      later(step.headersDelayMs ?? 0, () => streamPieces(step, recorded, response, later, end));
  }
}

type StreamStep = Extract<FaultStep, { kind: "stream" }>;

function streamPieces(
  step: StreamStep,
  recorded: FaultRequest,
  response: ServerResponse,
  later: (ms: number, run: () => void) => void,
  end: (text?: string) => void,
): void {
  const pieces = step.pieces ?? DEFAULT_PIECES;
  const stopAt = Math.min(step.afterPieces ?? pieces.length, pieces.length);
  const model = typeof recorded.body.model === "string" ? recorded.body.model : "mock";
  const base = { id: `chatcmpl-fault-${recorded.index}`, object: "chat.completion.chunk", created: 1, model };
  const send = (choice: object): void => {
    response.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, ...choice }] })}\n\n`);
  };
  response.writeHead(200, { "content-type": "text/event-stream" });
  send({ delta: { role: "assistant", content: "" }, finish_reason: null });
  const next = (position: number): void => {
    if (position < stopAt) {
      send({ delta: { content: pieces[position] }, finish_reason: null });
      recorded.chunksSent += 1;
      later(step.chunkDelayMs ?? 0, () => next(position + 1));
      return;
    }
    finishStream(step.ending ?? "finish", recorded, response, send, end);
  };
  next(0);
}

function finishStream(
  ending: NonNullable<StreamStep["ending"]>,
  recorded: FaultRequest,
  response: ServerResponse,
  send: (choice: object) => void,
  end: (text?: string) => void,
): void {
  switch (ending) {
    case "finish":
      send({ delta: {}, finish_reason: "stop" });
      end("data: [DONE]\n\n");
      return;
    case "stall":
      return;
    case "reset":
      recorded.endedAt = performance.now();
      response.socket?.destroy();
      return;
    case "malformed":
      end(MALFORMED_EVENT);
      return;
    case "error-event":
      end(`data: ${JSON.stringify(errorEnvelope("mock upstream failed mid-stream", "server_error"))}\n\n`);
  }
}

/** OpenAI's error envelope. */
export function errorEnvelope(message: string, type = "mock_error", code: string | null = null): object {
  return { error: { message, type, param: null, code } };
}
