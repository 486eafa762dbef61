/**
 * Replays recorded upstream answers to adapters, for provider tests. Shared by every provider's tests.
 *
 * API (stable; other test files depend on it):
 * - `createReplayTransport(answers, options?)` → `ReplayTransport`: an UpstreamTransport that answers the
 *   i-th `post()` with `answers[i]` (a `Recording`, or a `NetworkFailure` that makes `post()` reject). The body
 *   is re-chunked at random byte boundaries from a seeded PRNG (`options.seed`, chunk sizes
 *   1..`options.maxChunkBytes`; 1 = every byte boundary, Infinity = one chunk), so multi-byte characters and
 *   SSE lines get split. It records every request (`requests`: url, headers, raw and parsed body, signal) and
 *   honours the abort signal: `post()` rejects and the body throws an AbortError (the signal's reason) once the
 *   signal fires; `aborted` tells whether a signal fired while the transport was serving it. With
 *   `options.pauseAfterBytes` the body stalls after that many bytes until the request is aborted
 *   (`whenPaused()` resolves when it stalls), which is how abort tests stop a stream mid-way.
 * - `sseRecording(file, init?)` / `jsonRecording(file, status, init?)`: a Recording from
 *   `test/fixtures/<file>` with the matching content-type; `readFixture(file)` gives the raw bytes.
 * - `createTestContext(overrides?)` → CallContext: silent logger, fixed `now()` (`TEST_NOW`), deterministic
 *   `generateId(prefix)` (`${prefix}test${n}`, n from 1), request id `TEST_REQUEST_ID`, a never-aborted signal
 *   and a transport that fails if called.
 * - `createTestProviderConfig(overrides?)` → a resolved ProviderConfig (type `openai`, base URL
 *   `https://upstream.test/v1`, no quirks, stream_options on); override `type`, `baseUrl`, `quirks`, ….
 * - `createSilentLogger()` and `createCapturingLogger()` (keeps every line as text, to assert nothing leaks).
 */
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import type { FastifyBaseLogger } from "fastify";
import type { ProviderConfig } from "../../src/config/config.ts";
import type { CallContext, UpstreamResponse, UpstreamTransport } from "../../src/providers/types.ts";
import { mulberry32 } from "./seeded-random.ts";

/** A recorded upstream answer. Header names are lower-case, as undici gives them. */
export interface Recording {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array;
}

/** An answer that never comes: `post()` rejects as if the connection failed. */
export interface NetworkFailure {
  readonly networkError: string;
}

/** What the transport answers to one request. */
export type ReplayAnswer = Recording | NetworkFailure;

/** How the body bytes are delivered. */
export interface ReplayOptions {
  /** PRNG seed for the chunk boundaries. Default 1. */
  readonly seed?: number;
  /** Largest chunk in bytes; 1 splits at every byte, Infinity sends one chunk. Default 24. */
  readonly maxChunkBytes?: number;
  /** Stall the body after this many bytes until the request's signal fires. */
  readonly pauseAfterBytes?: number;
}

/** One request the transport received. */
export interface RecordedRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body exactly as sent. */
  readonly rawBody: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly body: unknown;
  readonly signal: AbortSignal;
}

/** An UpstreamTransport that replays recordings and remembers what it was asked. */
export interface ReplayTransport extends UpstreamTransport {
  readonly requests: readonly RecordedRequest[];
  /** True once a request's abort signal fired while the transport was serving it. */
  readonly aborted: boolean;
  /** Resolves when a body stalls at `pauseAfterBytes`. */
  whenPaused(): Promise<void>;
}

/** The fixed clock of test contexts: 2026-01-01T00:00:00Z. */
export const TEST_NOW = Date.UTC(2026, 0, 1);
/** The request id of test contexts. */
export const TEST_REQUEST_ID = "req-test-0001";

const FIXTURES_DIR = new URL("../fixtures/", import.meta.url);

/** Raw bytes of `test/fixtures/<file>`. */
export function readFixture(file: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(file, FIXTURES_DIR)));
}

/** A 200 `text/event-stream` recording of `test/fixtures/<file>`. */
export function sseRecording(
  file: string,
  init: { readonly status?: number; readonly headers?: Readonly<Record<string, string>> } = {},
): Recording {
  return {
    status: init.status ?? 200,
    headers: { "content-type": "text/event-stream; charset=utf-8", ...init.headers },
    body: readFixture(file),
  };
}

/** An `application/json` recording of `test/fixtures/<file>` with the given status. */
export function jsonRecording(
  file: string,
  status: number,
  init: { readonly headers?: Readonly<Record<string, string>> } = {},
): Recording {
  return {
    status,
    headers: { "content-type": "application/json", ...init.headers },
    body: readFixture(file),
  };
}

/** Creates a transport that answers the i-th request with `answers[i]` and fails once they run out. */
export function createReplayTransport(
  answers: ReplayAnswer | readonly ReplayAnswer[],
  options: ReplayOptions = {},
): ReplayTransport {
  const queue: ReplayAnswer[] = Array.isArray(answers) ? [...answers] : [answers as ReplayAnswer];
  const requests: RecordedRequest[] = [];
  const paused = Promise.withResolvers<void>();
  let aborted = false;
  let answered = 0;
  return {
    requests,
    get aborted() {
      return aborted;
    },
    whenPaused: () => paused.promise,
    async post(request) {
      requests.push({ ...request, rawBody: request.body, body: parseJsonOrUndefined(request.body) });
      // Counts only while the request is being served: until its body has been fully delivered.
      let served = false;
      request.signal.addEventListener("abort", () => (aborted ||= !served), { once: true });
      if (request.signal.aborted) {
        aborted = true;
        throw abortError(request.signal);
      }
      const answer = queue.shift();
      answered += 1;
      if (answer === undefined) throw new Error(`replay transport: no recording for request #${answered}`);
      if ("networkError" in answer) throw new TypeError(answer.networkError);
      const bytes = typeof answer.body === "string" ? new TextEncoder().encode(answer.body) : answer.body;
      return createResponse(answer, bytes, request.signal, options, {
        onPause: paused.resolve,
        onDone: () => (served = true),
      });
    },
  };
}

/** Lets a response tell its transport when its body stalls and when it has been delivered. */
interface ReplayHooks {
  readonly onPause: () => void;
  readonly onDone: () => void;
}

function createResponse(
  recording: Recording,
  bytes: Uint8Array,
  signal: AbortSignal,
  options: ReplayOptions,
  hooks: ReplayHooks,
): UpstreamResponse {
  let consumed = false;
  const body = (): AsyncIterable<Uint8Array> => {
    if (consumed) throw new Error("replay transport: body read twice");
    consumed = true;
    return replayBytes(bytes, signal, options, hooks);
  };
  return {
    status: recording.status,
    headers: { ...recording.headers },
    get body() {
      return body();
    },
    async text() {
      const decoder = new TextDecoder();
      let text = "";
      for await (const chunk of body()) text += decoder.decode(chunk, { stream: true });
      return text + decoder.decode();
    },
  };
}

async function* replayBytes(
  bytes: Uint8Array,
  signal: AbortSignal,
  options: ReplayOptions,
  hooks: ReplayHooks,
): AsyncGenerator<Uint8Array> {
  const random = mulberry32(options.seed ?? 1);
  const maxChunk = Math.max(1, options.maxChunkBytes ?? 24);
  const pauseAt = options.pauseAfterBytes ?? Number.POSITIVE_INFINITY;
  let offset = 0;
  while (offset < bytes.length) {
    if (offset >= pauseAt) {
      hooks.onPause();
      await waitForAbort(signal);
    }
    if (signal.aborted) throw abortError(signal);
    const size = Number.isFinite(maxChunk) ? 1 + Math.floor(random() * maxChunk) : bytes.length;
    const end = Math.min(bytes.length, offset + size, offset < pauseAt ? pauseAt : bytes.length);
    yield bytes.slice(offset, end);
    offset = end;
  }
  if (signal.aborted) throw abortError(signal);
  hooks.onDone();
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException("This operation was aborted", "AbortError");
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A logger that drops everything. */
export function createSilentLogger(): FastifyBaseLogger {
  const drop = (): void => {};
  const logger: FastifyBaseLogger = {
    level: "silent",
    fatal: drop,
    error: drop,
    warn: drop,
    info: drop,
    debug: drop,
    trace: drop,
    silent: drop,
    child: () => logger,
  };
  return logger;
}

/** A logger that keeps every line (level and all arguments, inspected to text). */
export function createCapturingLogger(): { readonly logger: FastifyBaseLogger; readonly lines: string[] } {
  const lines: string[] = [];
  const line =
    (level: string) =>
    (...args: unknown[]): void => {
      lines.push(`${level} ${args.map((arg) => inspect(arg, { depth: 8 })).join(" ")}`);
    };
  const logger: FastifyBaseLogger = {
    level: "trace",
    fatal: line("fatal"),
    error: line("error"),
    warn: line("warn"),
    info: line("info"),
    debug: line("debug"),
    trace: line("trace"),
    silent: () => {},
    child: () => logger,
  };
  return { logger, lines };
}

/** A CallContext with deterministic effects; pass `transport` and `signal` for the case at hand. */
export function createTestContext(overrides: Partial<CallContext> = {}): CallContext {
  let nextId = 0;
  return {
    upstreamModel: "test-model",
    signal: new AbortController().signal,
    transport: createReplayTransport([]),
    log: createSilentLogger(),
    requestId: TEST_REQUEST_ID,
    now: () => TEST_NOW,
    generateId: (prefix) => {
      nextId += 1;
      return `${prefix}test${nextId}`;
    },
    ...overrides,
  };
}

/** A resolved provider config for adapter tests. */
export function createTestProviderConfig(overrides: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name: "test-provider",
    type: "openai",
    baseUrl: "https://upstream.test/v1",
    apiKeyEnv: "TEST_API_KEY",
    apiKey: undefined,
    headers: {},
    quirks: [],
    streamOptions: true,
    tokenDelayMs: 0,
    anthropicVersion: "2023-06-01",
    defaultMaxTokens: 4096,
    ...overrides,
  };
}
