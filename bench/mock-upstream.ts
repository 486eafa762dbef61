/**
 * A mock OpenAI-compatible vendor for the benchmark, in its own process. `POST /v1/chat/completions` answers
 * with SSE (`stream: true`: role chunk, K content chunks, finish chunk, usage chunk when
 * `stream_options.include_usage`, `[DONE]`) or a JSON completion (`stream: false`). Payloads are built once per
 * shape and cached, so the mock costs as little CPU as possible next to what is measured.
 *
 * The shape comes from the model name or headers (headers win):
 * - chunks K: `-k<K>` in the model (`bench-k50`) or `x-mock-chunks: K`; default 50 streamed, 5 in JSON;
 * - delay before answering: `-d<ms>` in the model (`bench-k5-d1000`) or `x-mock-delay-ms`;
 * - delay between streamed chunks: `-i<ms>` in the model or `x-mock-chunk-delay-ms`.
 *
 * `GET /stats` answers `{"connections","requests","spans","spansByReceiver"}` so far: the benchmark reports how
 * many upstream connections each target opened (a proxy that reuses its keep-alive pool opens almost none once
 * warm).
 *
 * It is also the traced gateways' OTLP/HTTP receiver: `POST [/<receiver>]/v1/traces` counts the spans of each JSON
 * batch (by their `"spanId":` keys, without building the objects, as cheaply as a collector on another machine
 * would cost this one), in total and per receiver path (one per traced gateway, whose late batches must not count
 * for another), and answers `{}`.
 *
 * Usage: `node bench/mock-upstream.ts [--host 127.0.0.1] [--port 0]`; prints `{"event":"ready","port":N}`.
 * @see https://platform.openai.com/docs/api-reference/chat/streaming
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { jsonCompletion, token } from "./lib/mock-answers.ts";
import { announceReady, readFlags } from "./lib/protocol.ts";

const DEFAULT_STREAM_CHUNKS = 50;
const DEFAULT_JSON_CHUNKS = 5;
const CREATED = 1_700_000_000;

interface Shape {
  readonly model: string;
  readonly chunks: number;
  readonly delayMs: number;
  readonly chunkDelayMs: number;
  readonly stream: boolean;
  readonly includeUsage: boolean;
}

/** Prebuilt answer: the SSE events one by one, or the JSON body. */
type Payload =
  | { readonly kind: "sse"; readonly events: readonly Buffer[] }
  | { readonly kind: "json"; readonly body: Buffer };

const cache = new Map<string, Payload>();
/** Connections that carried chat requests, and those requests, for `GET /stats` (keep-alive reuse shows here). */
const stats = { connections: 0, requests: 0, spans: 0, spansByReceiver: {} as Record<string, number> };
const SPAN_ID_KEY = Buffer.from('"spanId":');
const chatSockets = new WeakSet<object>();

function sseEvent(value: unknown): Buffer {
  return Buffer.from(`data: ${JSON.stringify(value)}\n\n`);
}

function buildSse(shape: Shape): Payload {
  const base = {
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created: CREATED,
    model: shape.model,
  };
  const choice = (delta: object, finish: string | null): object => ({
    ...base,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const events: Buffer[] = [sseEvent(choice({ role: "assistant", content: "" }, null))];
  for (let i = 0; i < shape.chunks; i++) events.push(sseEvent(choice({ content: token(i) }, null)));
  events.push(sseEvent(choice({}, "stop")));
  if (shape.includeUsage) {
    const usage = { prompt_tokens: 10, completion_tokens: shape.chunks, total_tokens: 10 + shape.chunks };
    events.push(sseEvent({ ...base, choices: [], usage }));
  }
  events.push(Buffer.from("data: [DONE]\n\n"));
  return { kind: "sse", events };
}

function buildJson(shape: Shape): Payload {
  const body = jsonCompletion(shape.model, shape.chunks, CREATED);
  return { kind: "json", body: Buffer.from(JSON.stringify(body)) };
}

function payloadFor(shape: Shape): Payload {
  const key = `${shape.model}|${shape.chunks}|${shape.stream}|${shape.includeUsage}`;
  let payload = cache.get(key);
  if (payload === undefined) {
    payload = shape.stream ? buildSse(shape) : buildJson(shape);
    cache.set(key, payload);
  }
  return payload;
}

function numberFrom(
  header: string | string[] | undefined,
  model: string,
  pattern: RegExp,
): number | undefined {
  if (typeof header === "string" && header !== "") {
    const value = Number(header);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const match = pattern.exec(model);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Reads the request's shape; undefined when the body is not a chat request. */
function shapeOf(request: IncomingMessage, raw: string): Shape | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const body = parsed as Record<string, unknown>;
  const model = typeof body.model === "string" ? body.model : "bench-model";
  const stream = body.stream === true;
  const options = body.stream_options;
  const includeUsage =
    typeof options === "object" &&
    options !== null &&
    (options as Record<string, unknown>).include_usage === true;
  const headers = request.headers;
  return {
    model,
    stream,
    includeUsage: stream && includeUsage,
    chunks:
      numberFrom(headers["x-mock-chunks"], model, /-k(\d+)/) ??
      (stream ? DEFAULT_STREAM_CHUNKS : DEFAULT_JSON_CHUNKS),
    delayMs: numberFrom(headers["x-mock-delay-ms"], model, /-d(\d+)/) ?? 0,
    chunkDelayMs: numberFrom(headers["x-mock-chunk-delay-ms"], model, /-i(\d+)/) ?? 0,
  };
}

function sendError(response: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code: null } });
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  response.end(body);
}

function writeEvents(response: ServerResponse, events: readonly Buffer[], chunkDelayMs: number): void {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  if (chunkDelayMs <= 0) {
    // One write per event, as a vendor emits them token by token; the last one ends the response.
    const last = events.length - 1;
    for (let i = 0; i < last; i++) response.write(events[i]);
    response.end(events[last]);
    return;
  }
  let index = 0;
  const next = (): void => {
    if (response.destroyed) return;
    const event = events[index++];
    if (index >= events.length) response.end(event);
    else {
      response.write(event);
      setTimeout(next, chunkDelayMs);
    }
  };
  next();
}

function answer(response: ServerResponse, shape: Shape): void {
  if (response.destroyed) return;
  const payload = payloadFor(shape);
  if (payload.kind === "json") {
    response.writeHead(200, { "content-type": "application/json", "content-length": payload.body.length });
    response.end(payload.body);
  } else {
    writeEvents(response, payload.events, shape.chunkDelayMs);
  }
}

function handle(request: IncomingMessage, response: ServerResponse): void {
  if (request.method === "GET" && request.url === "/health") {
    response.writeHead(200, { "content-type": "text/plain", "content-length": 2 });
    response.end("ok");
    return;
  }
  if (request.method === "GET" && request.url === "/stats") {
    const body = JSON.stringify(stats);
    response.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    });
    response.end(body);
    return;
  }
  if (request.method === "POST" && request.url?.endsWith("/v1/traces") === true) {
    receiveSpans(request, response, request.url.slice(0, -"/v1/traces".length));
    return;
  }
  if (request.method !== "POST" || !request.url?.endsWith("/chat/completions")) {
    sendError(response, 404, "not found");
    return;
  }
  stats.requests++;
  if (!chatSockets.has(request.socket)) {
    chatSockets.add(request.socket);
    stats.connections++;
  }
  const parts: Buffer[] = [];
  request.on("data", (part: Buffer) => parts.push(part));
  request.on("end", () => {
    const shape = shapeOf(request, parts.length === 1 ? String(parts[0]) : Buffer.concat(parts).toString());
    if (shape === undefined) return sendError(response, 400, "body is not a JSON chat request");
    if (shape.delayMs > 0) setTimeout(answer, shape.delayMs, response, shape);
    else answer(response, shape);
  });
}

function receiveSpans(request: IncomingMessage, response: ServerResponse, receiver: string): void {
  const parts: Buffer[] = [];
  request.on("data", (part: Buffer) => parts.push(part));
  request.on("end", () => {
    const body = Buffer.concat(parts);
    let spans = 0;
    for (let at = body.indexOf(SPAN_ID_KEY); at !== -1; at = body.indexOf(SPAN_ID_KEY, at + 1)) spans++;
    stats.spans += spans;
    stats.spansByReceiver[receiver] = (stats.spansByReceiver[receiver] ?? 0) + spans;
    response.writeHead(200, { "content-type": "application/json", "content-length": 2 });
    response.end("{}");
  });
}

function main(): void {
  const flags = readFlags(process.argv.slice(2));
  const host = flags.get("host") ?? "127.0.0.1";
  const port = Number(flags.get("port") ?? "0");
  const server = createServer({ keepAliveTimeout: 120_000, requestTimeout: 0 }, handle);
  // A deep accept queue: the 10,000-stream phase opens thousands of upstream connections at once.
  server.listen(port, host, 65_535, () => {
    announceReady(server, port);
  });
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main();
