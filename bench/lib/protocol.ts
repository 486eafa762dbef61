/**
 * Messages between the orchestrator (run.ts) and the load generator process (load.ts), over the fork IPC
 * channel, plus the JSON-line readiness message that every server child prints on stdout.
 */
import type { Server } from "node:http";

/**
 * How requests travel: HTTP/1.1 over keep-alive connections (default), OpenAI SSE over h2c sessions, or gRPC
 * over h2c (the body is then a base64 length-prefixed protobuf message).
 */
export type LoadProtocol = "http1" | "h2-sse" | "grpc";

/** What the load generator sends, how many at once, and for how long. */
export interface RunSpec {
  /** Full URL, e.g. `http://127.0.0.1:1234/v1/chat/completions`. */
  readonly url: string;
  /** The JSON request body, sent as is (gRPC: the enveloped message in base64). */
  readonly body: string;
  readonly protocol?: LoadProtocol;
  /** Extra request headers (content-type is always JSON). */
  readonly headers: Readonly<Record<string, string>>;
  /** Requests in flight at any time. */
  readonly concurrency: number;
  /** Stop issuing new requests after this many milliseconds (duration mode). */
  readonly durationMs?: number;
  /** Or: issue exactly this many requests (count mode). */
  readonly requests?: number;
  /** Hard bound for the whole run beyond its duration; in-flight requests then count as errors. */
  readonly timeoutMs: number;
  /**
   * How a successful answer looks: a JSON completion, SSE ending with `data: [DONE]`, or Anthropic's SSE ending
   * with `event: message_stop` (the Messages edge).
   */
  /** `responses-sse`: the time to first byte is the time to the first `response.output_text.delta` event. */
  readonly expect: "json" | "sse" | "messages-sse" | "responses-sse";
}

/** Latency percentiles in milliseconds. */
export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** What one run measured. */
export interface RunResult {
  /** Successful requests that completed inside the measured window. */
  readonly completed: number;
  /** Requests answered in all, inside the window or after it (the denominator of CPU per request). */
  readonly finished: number;
  /** Failed requests (bad status, bad body, transport errors, timeouts). */
  readonly errors: number;
  /** Length of the measured window (duration mode) or time until the last answer (count mode), ms. */
  readonly elapsedMs: number;
  /** completed / elapsed. */
  readonly rps: number;
  /** Whole request latency, from dispatch to the last body byte. */
  readonly latency: Percentiles;
  /** Time to the first body byte. */
  readonly ttfb: Percentiles;
  /** Up to three distinct error messages, for diagnosis. */
  readonly errorSamples: readonly string[];
}

/** Orchestrator → load generator. */
export type LoadCommand =
  | { readonly type: "run"; readonly id: number; readonly spec: RunSpec }
  | { readonly type: "close" };

/** Load generator → orchestrator. */
export type LoadReply =
  | { readonly type: "ready" }
  | { readonly type: "result"; readonly id: number; readonly result: RunResult }
  | { readonly type: "error"; readonly id: number; readonly message: string };

/** The line a server child prints on stdout once it listens. */
export interface ReadyLine {
  readonly event: "ready";
  readonly port: number;
}

/** Prints the ReadyLine of `server` once it listens (`requested` when the address is not a port). */
export function announceReady(server: Pick<Server, "address">, requested: number): void {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : requested;
  process.stdout.write(`${JSON.stringify({ event: "ready", port } satisfies ReadyLine)}\n`);
}

/** Narrows one stdout line to a ReadyLine. */
export function parseReadyLine(line: string): ReadyLine | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== "object" || value === null) return undefined;
    const record = value as Record<string, unknown>;
    if (record.event !== "ready" || typeof record.port !== "number") return undefined;
    return { event: "ready", port: record.port };
  } catch {
    return undefined;
  }
}

/** Reads `--name value` flags (and bare `--flag` booleans) from argv. */
export function readFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === undefined || !arg.startsWith("--")) continue;
    const eq = arg.indexOf("=");
    if (eq > 0) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith("--")) {
      flags.set(arg.slice(2), next);
      i++;
    } else {
      flags.set(arg.slice(2), "true");
    }
  }
  return flags;
}
