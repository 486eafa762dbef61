/**
 * The two issue-8 targets that are whole runs rather than rounds:
 * - many streams: 10,000 concurrent SSE streams through the gateway (each about 1 s long, so they are all open at
 *   once), all complete without an error, and the gateway's peak RSS stays under its limit. The clients speak
 *   h2c, 100 streams per session: with HTTP/1.1 the gateway would hold 20,000 sockets (10,000 clients and 10,000
 *   upstream connections) and this machine's per-process limit is 20,000 file descriptors (`ulimit -Hn`). Before
 *   the gateway, the same load goes through two fresh references, the bare pass-through and the Fastify floor
 *   (both on h2c), whose peak RSS says how much of the limit the platform takes before the gateway does anything;
 * - leak: a fresh gateway serves 200,000 requests (blocks of 10,000 alternating non-streaming and streaming, at
 *   c=100); its RSS after 200,000 must be within 10 % of its RSS after 20,000. Each reading follows a full
 *   garbage collection asked for through the inspector (the gateway runs with `--inspect` on loopback for this
 *   phase only): without it, RSS mostly says how much garbage V8 chose to let pile up before collecting it,
 *   which for a fresh process keeps rising for the first ~30,000 requests; after it (and once the allocator has
 *   returned the freed pages: SETTLE_AFTER_GC_MS), RSS is what is retained, which is what a leak grows.
 */
import type { ChildHandle } from "./children.ts";
import { type Fleet, freePort } from "./fleet.ts";
import { memoryMiB } from "./proc-stats.ts";
import type { RunResult, RunSpec } from "./protocol.ts";
import { LEAK_MODEL, MANY_STREAMS_MODEL, requestBody } from "./scenarios.ts";

export const MANY_STREAMS = 10_000;
export const LEAK_TOTAL = 200_000;
export const LEAK_FIRST = 20_000;
const LEAK_BLOCK = 10_000;
const SETTLE_AFTER_GC_MS = 2500;

/** What the many-streams phase saw. */
export interface ManyStreamsResult {
  readonly streams: number;
  readonly completed: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly errorSamples: readonly string[];
  /** The gateway's peak RSS over its lifetime (VmHWM), in MB (10^6 bytes). */
  readonly gatewayPeakRssMB: number;
  /** The same load through each fresh reference proxy. */
  readonly references: readonly ReferenceStreams[];
}

/** The many-streams load through one reference proxy. */
export interface ReferenceStreams {
  readonly name: string;
  readonly completed: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly peakRssMB: number;
}

/**
 * The references of the many-streams phase: the pass-through's flags for each. Like the gateway's config, each
 * may open one upstream connection per stream, so that all of them are open at once.
 */
const STREAM_REFERENCES: readonly { name: string; flags: readonly string[] }[] = [
  { name: "pass-through", flags: ["--h2c", "--connections", String(MANY_STREAMS)] },
  {
    name: "fastify floor",
    flags: ["--h2c", "--connections", String(MANY_STREAMS), "--framework", "fastify"],
  },
];

/** What the leak phase saw. */
export interface LeakResult {
  readonly requests: number;
  readonly errors: number;
  readonly rssAtFirstMB: number;
  readonly rssAtTotalMB: number;
  readonly growth: number;
  /** V8 heap in use after the same collections (process.memoryUsage().heapUsed, MB): what JS code retains. */
  readonly heapAtFirstMB: number;
  readonly heapAtTotalMB: number;
  readonly elapsedMs: number;
}

const MIB = 1024 * 1024;

function megabytes(mebibytes: number | undefined): number {
  return mebibytes === undefined ? Number.NaN : (mebibytes * MIB) / 1e6;
}

/** Stops a child and waits for its exit (its sockets are closed by then). */
function stopped(handle: ChildHandle): Promise<void> {
  if (handle.process.exitCode !== null || handle.process.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    handle.process.once("exit", () => resolve());
    handle.process.kill("SIGTERM");
  });
}

function manyStreamsSpec(url: string): RunSpec {
  return {
    url,
    body: requestBody({ model: MANY_STREAMS_MODEL, stream: true }),
    protocol: "h2-sse",
    headers: {},
    concurrency: MANY_STREAMS,
    requests: MANY_STREAMS,
    timeoutMs: 60_000,
    expect: "sse",
  };
}

/**
 * 10,000 concurrent streams through each fresh reference, then through the measured gateway. The references go
 * first and are stopped after their run, which closes their 10,000 upstream connections: the mock could not
 * accept another 10,000 beside the gateway's idle keep-alive ones (its file descriptor limit).
 */
export async function runManyStreams(fleet: Fleet): Promise<ManyStreamsResult> {
  const references: ReferenceStreams[] = [];
  for (const reference of STREAM_REFERENCES) {
    const proxy = await fleet.startExtraPassthrough(`${reference.name} (h2c)`, reference.flags);
    try {
      const run = await fleet.load.run(manyStreamsSpec(proxy.url));
      references.push({
        name: reference.name,
        completed: run.completed,
        errors: run.errors,
        elapsedMs: run.elapsedMs,
        peakRssMB: megabytes(memoryMiB(proxy.handle.pid)?.peak),
      });
    } finally {
      await stopped(proxy.handle);
    }
  }
  const result = await fleet.load.run(manyStreamsSpec(fleet.urls.gateway));
  return {
    streams: MANY_STREAMS,
    completed: result.completed,
    errors: result.errors,
    elapsedMs: result.elapsedMs,
    errorSamples: result.errorSamples,
    gatewayPeakRssMB: megabytes(memoryMiB(fleet.processes.gateway.pid)?.peak),
    references,
  };
}

/** Calls `methods` in order on the inspector on `port` (Chrome DevTools Protocol); the last answer's result. */
async function inspect(
  port: number,
  calls: readonly { method: string; params?: object }[],
): Promise<unknown> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl?: string;
  }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error("leak check: the gateway's inspector lists no target");
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let last: unknown;
  for (const [id, call] of calls.entries()) {
    last = await new Promise<unknown>((resolve) => {
      const onMessage = (event: MessageEvent): void => {
        const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
        if (message.id !== id) return;
        socket.removeEventListener("message", onMessage);
        resolve(message.result);
      };
      socket.addEventListener("message", onMessage);
      socket.send(JSON.stringify({ id, ...call }));
    });
  }
  socket.close();
  return last;
}

/** RSS and V8 heap in use (MB) after a full garbage collection. */
async function settledMemory(
  handle: ChildHandle,
  inspectPort: number,
): Promise<{ rss: number; heap: number }> {
  // Let the last responses close, collect their garbage, then read.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const result = (await inspect(inspectPort, [
    { method: "HeapProfiler.collectGarbage" },
    {
      method: "Runtime.evaluate",
      params: { expression: "process.memoryUsage().heapUsed", returnByValue: true },
    },
  ])) as { result?: { value?: unknown } } | undefined;
  // jemalloc (./allocator.ts) hands freed pages back from its background thread after dirty_decay_ms (1 s): read
  // once that has happened, so the figure is what the process holds, not what it has yet to return.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_AFTER_GC_MS));
  const heapUsed = result?.result?.value;
  return {
    rss: megabytes(memoryMiB(handle.pid)?.current),
    heap: typeof heapUsed === "number" ? heapUsed / 1e6 : Number.NaN,
  };
}

/** 200,000 requests through a fresh gateway; RSS after 20,000 and after 200,000. */
export async function runLeakCheck(fleet: Fleet, progress: (text: string) => void): Promise<LeakResult> {
  const started = performance.now();
  const inspectPort = await freePort(29_300);
  const gateway = await fleet.startExtraGateway("gateway-leak-check", inspectPort);
  let requests = 0;
  let errors = 0;
  let atFirst: { rss: number; heap: number } | undefined;
  try {
    for (let block = 0; requests < LEAK_TOTAL; block++) {
      const stream = block % 2 === 1;
      const result: RunResult = await fleet.load.run({
        url: gateway.url,
        body: requestBody({ model: LEAK_MODEL, stream }),
        headers: {},
        concurrency: 100,
        requests: LEAK_BLOCK,
        timeoutMs: 60_000,
        expect: stream ? "sse" : "json",
      });
      requests += result.finished;
      errors += result.errors;
      if (result.finished === 0) throw new Error(`leak check: block ${block} answered nothing`);
      if (requests >= LEAK_FIRST && atFirst === undefined)
        atFirst = await settledMemory(gateway.handle, inspectPort);
      if (block % 4 === 3) progress(`leak check: ${requests} requests, ${errors} errors`);
    }
    const atTotal = await settledMemory(gateway.handle, inspectPort);
    const first = atFirst ?? { rss: Number.NaN, heap: Number.NaN };
    return {
      requests,
      errors,
      rssAtFirstMB: first.rss,
      rssAtTotalMB: atTotal.rss,
      growth: atTotal.rss / first.rss,
      heapAtFirstMB: first.heap,
      heapAtTotalMB: atTotal.heap,
      elapsedMs: performance.now() - started,
    };
  } finally {
    gateway.handle.process.kill("SIGTERM");
  }
}
