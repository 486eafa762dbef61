/**
 * A scripted ChatCore for the gRPC edge tests: records what each call received, streams scripted chunks (with an
 * optional delay between them), fails before the first chunk or mid-stream, and honours the abort signal the way
 * the real core does (ProxyError.from(signal.reason)).
 */
import type { CallOptions, ChatCore, ChatStream } from "../../src/core/chat-stream.ts";
import { ProxyError } from "../../src/core/errors.ts";
import type { ChatChunk, ChatRequest, ChatResult, ModelInfo } from "../../src/core/types.ts";

/** What the next calls do. */
export interface FakeScript {
  readonly chunks: readonly ChatChunk[];
  readonly result: ChatResult;
  /** openStream/complete reject with it (before any chunk). */
  readonly failBeforeFirst?: ProxyError;
  /** The stream throws it after this many chunks. */
  readonly failAfter?: { readonly count: number; readonly error: ProxyError };
  /** Delay before each chunk after the first, in ms. */
  readonly delayMs?: number;
}

/** One recorded call. */
export interface FakeCall {
  readonly method: "openStream" | "complete";
  readonly request: ChatRequest;
  readonly options: CallOptions;
  /** Resolves with the signal's reason once the core's signal aborts. */
  readonly aborted: Promise<unknown>;
}

/** The fake and its controls. */
export interface FakeCore extends ChatCore {
  script: FakeScript;
  readonly calls: FakeCall[];
  defaultModel: string | undefined;
}

export const FAKE_STREAM_HEADER = { id: "chatcmpl-fake", created: 1_700_000_000, model: "gpt-test" } as const;

export const FAKE_MODELS: readonly ModelInfo[] = [
  { id: "gpt-test", ownedBy: "openai" },
  { id: "claude-test", ownedBy: "anthropic" },
];

/** A core whose behaviour each test sets through `script`. */
export function createFakeCore(script: FakeScript): FakeCore {
  const core: FakeCore = {
    script,
    calls: [],
    defaultModel: "gpt-test",
    async openStream(request, options) {
      record(core, "openStream", request, options);
      if (core.script.failBeforeFirst !== undefined) throw core.script.failBeforeFirst;
      const stream: ChatStream = {
        ...FAKE_STREAM_HEADER,
        model: request.model,
        choiceCount: request.n ?? 1,
        served: { provider: "fake", upstreamModel: request.model, attempts: 1 },
        chunks: playChunks(core.script, options.signal),
      };
      return stream;
    },
    async complete(request, options) {
      record(core, "complete", request, options);
      if (core.script.failBeforeFirst !== undefined) throw core.script.failBeforeFirst;
      return core.script.result;
    },
    async embed() {
      throw new ProxyError("invalid_request", "The fake core does not embed.");
    },
    listModels: () => FAKE_MODELS,
  };
  return core;
}

function record(
  core: FakeCore,
  method: FakeCall["method"],
  request: ChatRequest,
  options: CallOptions,
): void {
  const { signal } = options;
  const aborted = new Promise<unknown>((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener("abort", () => resolve(signal.reason), { once: true });
  });
  core.calls.push({ method, request, options, aborted });
}

async function* playChunks(script: FakeScript, signal: AbortSignal): AsyncGenerator<ChatChunk> {
  for (const [index, chunk] of script.chunks.entries()) {
    if (script.failAfter !== undefined && index === script.failAfter.count) throw script.failAfter.error;
    if (index > 0 && script.delayMs !== undefined) await sleep(script.delayMs, signal);
    if (signal.aborted) throw ProxyError.from(signal.reason);
    yield chunk;
  }
  if (script.failAfter !== undefined && script.failAfter.count >= script.chunks.length)
    throw script.failAfter.error;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(ProxyError.from(signal.reason));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
