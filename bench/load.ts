/**
 * The load generator, in its own process: a fixed number of requests in flight over keep-alive undici Pools,
 * for a fixed duration or a fixed request count, timing each request (dispatch → last byte) and its first body
 * byte. It uses undici's raw dispatch handler API (no stream objects, no SDK) so that it stays cheap next to the
 * servers it loads on the same machine.
 *
 * Two ways to run it:
 * - forked by run.ts: takes `LoadCommand`s over IPC and answers `LoadReply`s (pools stay warm between runs);
 * - by hand: `node bench/load.ts --url http://127.0.0.1:9000/v1/chat/completions --model bench-k50 --stream
 *   --concurrency 100 --duration-ms 3000` (or `--requests N`) prints one RunResult as JSON.
 * @see https://undici.nodejs.org/#/docs/api/Dispatcher?id=dispatcherdispatchoptions-handler
 */
import { performance } from "node:perf_hooks";
import type { Dispatcher } from "undici";
import { Pool } from "undici";
import { GRPC_STREAM_PATH, GRPC_UNARY_PATH, grpcRequestBody } from "./lib/grpc-body.ts";
import { closeH2Sessions, prepareH2, sendH2 } from "./lib/h2-load.ts";
import { type LoadCommand, type LoadReply, type RunResult, type RunSpec, readFlags } from "./lib/protocol.ts";
import { percentiles, SampleBuffer } from "./lib/stats.ts";

const DONE_MARKER = Buffer.from("data: [DONE]");
const MESSAGE_STOP_MARKER = Buffer.from("event: message_stop");
const RESPONSE_COMPLETED_MARKER = Buffer.from("event: response.completed");
const TEXT_DELTA_MARKER = Buffer.from("event: response.output_text.delta");
const pools = new Map<string, Pool>();

/** One pool per origin and concurrency, with exactly that many keep-alive connections (like wrk's -c). */
function poolFor(origin: string, connections: number): Pool {
  const key = `${origin} ${connections}`;
  let pool = pools.get(key);
  if (pool === undefined) {
    pool = new Pool(origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 120_000,
      keepAliveMaxTimeout: 120_000,
    });
    pools.set(key, pool);
  }
  return pool;
}

type Outcome = (error: string | undefined, latencyMs: number, ttfbMs: number) => void;

/** Checks the answer cheaply: status 200 and, for SSE, a final `data: [DONE]`; JSON bodies are parsed. */
function verdict(spec: RunSpec, status: number, parts: Buffer[]): string | undefined {
  if (status !== 200) return `status ${status}: ${Buffer.concat(parts).toString().slice(0, 200)}`;
  if (spec.expect === "responses-sse") {
    const tail = parts.length > 1 ? Buffer.concat(parts.slice(-2)) : (parts[0] ?? Buffer.alloc(0));
    return tail.lastIndexOf(RESPONSE_COMPLETED_MARKER) >= 0
      ? undefined
      : "stream did not end with response.completed";
  }
  if (spec.expect === "messages-sse") {
    const tail = parts.length > 1 ? Buffer.concat(parts.slice(-2)) : (parts[0] ?? Buffer.alloc(0));
    return tail.lastIndexOf(MESSAGE_STOP_MARKER) >= 0 ? undefined : "stream did not end with message_stop";
  }
  if (spec.expect === "sse") {
    const tail = parts.length > 1 ? Buffer.concat(parts.slice(-2)) : (parts[0] ?? Buffer.alloc(0));
    return tail.lastIndexOf(DONE_MARKER) >= 0 ? undefined : "stream did not end with data: [DONE]";
  }
  try {
    const body = JSON.parse(Buffer.concat(parts).toString()) as { choices?: unknown };
    return Array.isArray(body.choices) ? undefined : "JSON answer without choices";
  } catch {
    return "answer is not JSON";
  }
}

function sendOne(pool: Pool, spec: RunSpec, options: Dispatcher.DispatchOptions, done: Outcome): void {
  const start = performance.now();
  let ttfb = -1;
  let status = 0;
  // SSE keeps only the last two parts (enough to find [DONE]); JSON keeps all of its (small) body.
  const parts: Buffer[] = [];
  const keepAll = spec.expect === "json";
  const firstDeltaOnly = spec.expect === "responses-sse";
  let finished = false;
  const finish = (error: string | undefined): void => {
    if (finished) return;
    finished = true;
    done(error, performance.now() - start, ttfb < 0 ? performance.now() - start : ttfb);
  };
  pool.dispatch(options, {
    onRequestStart() {},
    onResponseStart(_controller, statusCode) {
      status = statusCode;
    },
    onResponseData(_controller, chunk) {
      // A Responses stream opens with events that carry no text: its first byte that counts is the first delta.
      if (ttfb < 0 && (!firstDeltaOnly || chunk.includes(TEXT_DELTA_MARKER)))
        ttfb = performance.now() - start;
      if (!keepAll && parts.length === 2) parts.shift();
      parts.push(chunk);
    },
    onResponseEnd() {
      finish(verdict(spec, status, parts));
    },
    onResponseError(_controller, error) {
      finish(error.message || error.name);
    },
  });
}

/** The function that sends one request of the spec, by protocol. */
function senderFor(spec: RunSpec): (done: Outcome) => void {
  if (spec.protocol === "grpc" || spec.protocol === "h2-sse") {
    const request = prepareH2(spec);
    return (done) => sendH2(request, done);
  }
  const url = new URL(spec.url);
  const pool = poolFor(url.origin, spec.concurrency);
  const options: Dispatcher.DispatchOptions = {
    path: url.pathname + url.search,
    method: "POST",
    headers: { "content-type": "application/json", ...spec.headers },
    body: Buffer.from(spec.body),
    headersTimeout: spec.timeoutMs,
    bodyTimeout: spec.timeoutMs,
  };
  return (done) => sendOne(pool, spec, options, done);
}

/** Runs one spec to completion (or to its timeout) and summarises it. */
export function runLoad(spec: RunSpec): Promise<RunResult> {
  const send = senderFor(spec);
  const latency = new SampleBuffer();
  const ttfb = new SampleBuffer();
  const errorSamples = new Set<string>();
  const start = performance.now();
  const deadline = spec.durationMs === undefined ? Number.POSITIVE_INFINITY : start + spec.durationMs;
  let issued = 0;
  let inFlight = 0;
  let completed = 0;
  let errors = 0;
  let lastEnd = start;

  return new Promise((resolve) => {
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const finishedCount = latency.values().length + errors;
      errors += inFlight;
      if (inFlight > 0) errorSamples.add(`${inFlight} requests still in flight at the run's timeout`);
      const elapsedMs = spec.durationMs ?? lastEnd - start;
      resolve({
        completed,
        finished: finishedCount,
        errors,
        elapsedMs,
        rps: elapsedMs > 0 ? (completed * 1000) / elapsedMs : 0,
        latency: percentiles(latency.values()),
        ttfb: percentiles(ttfb.values()),
        errorSamples: [...errorSamples].slice(0, 3),
      });
    };
    const timer = setTimeout(settle, (spec.durationMs ?? 0) + spec.timeoutMs);
    const more = (): boolean =>
      performance.now() < deadline && (spec.requests === undefined || issued < spec.requests);
    const launch = (): void => {
      issued++;
      inFlight++;
      send((error, latencyMs, ttfbMs) => {
        inFlight--;
        const now = performance.now();
        if (error !== undefined) {
          errors++;
          if (errorSamples.size < 3) errorSamples.add(error);
        } else if (now <= deadline) {
          completed++;
          lastEnd = now;
          latency.push(latencyMs);
          ttfb.push(ttfbMs);
        } else {
          // Finished after the window closed: its latency counts, its throughput does not.
          latency.push(latencyMs);
          ttfb.push(ttfbMs);
        }
        if (settled) return;
        // After an error, relaunch on the next turn: dispatch can fail synchronously and would recurse.
        if (more()) error === undefined ? launch() : setImmediate(launch);
        else if (inFlight === 0) settle();
      });
    };
    for (let i = 0; i < spec.concurrency && more(); i++) launch();
  });
}

async function closePools(): Promise<void> {
  await Promise.allSettled([...pools.values()].map((pool) => pool.destroy()));
  pools.clear();
  await closeH2Sessions();
}

function isCommand(value: unknown): value is LoadCommand {
  if (typeof value !== "object" || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === "close" || (type === "run" && typeof (value as { spec?: unknown }).spec === "object");
}

function serveIpc(send: (reply: LoadReply) => void): void {
  process.on("message", (message: unknown) => {
    if (!isCommand(message)) return;
    if (message.type === "close") {
      void closePools().then(() => process.exit(0));
      return;
    }
    runLoad(message.spec).then(
      (result) => send({ type: "result", id: message.id, result }),
      (error: unknown) => send({ type: "error", id: message.id, message: String(error) }),
    );
  });
  // The orchestrator died: do not linger.
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready" });
}

async function runFromCli(): Promise<void> {
  const flags = readFlags(process.argv.slice(2));
  const stream = flags.get("stream") === "true";
  const requests = flags.get("requests");
  const model = flags.get("model") ?? "bench-model";
  const protocol = flags.get("protocol") ?? "http1";
  if (protocol !== "http1" && protocol !== "h2-sse" && protocol !== "grpc")
    throw new Error("--protocol must be http1, h2-sse or grpc");
  const url = new URL(flags.get("url") ?? "http://127.0.0.1:9000/v1/chat/completions");
  if (protocol === "grpc") url.pathname = stream ? GRPC_STREAM_PATH : GRPC_UNARY_PATH;
  const body =
    protocol === "grpc"
      ? grpcRequestBody(model)
      : JSON.stringify({ model, messages: [{ role: "user", content: "Say hello" }], stream });
  const result = await runLoad({
    url: url.href,
    body,
    protocol,
    headers: {},
    concurrency: Number(flags.get("concurrency") ?? "10"),
    ...(requests === undefined
      ? { durationMs: Number(flags.get("duration-ms") ?? "3000") }
      : { requests: Number(requests) }),
    timeoutMs: Number(flags.get("timeout-ms") ?? "30000"),
    expect: stream ? "sse" : "json",
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await closePools();
}

if (import.meta.main) {
  const send = process.send?.bind(process);
  if (send === undefined) await runFromCli();
  else serveIpc((reply) => void send(reply));
}
