/**
 * The protocol-neutral chat core: route the model, attempt each target with retries, and hand the edge a
 * stream once its first chunk has arrived. Nothing is retried after that point: the client may already
 * have seen bytes.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { CallContext, ProviderAdapter, UpstreamTransport } from "../providers/types.ts";
import type { Router, Target } from "../routing/router.ts";
import { aggregateStream } from "./aggregate.ts";
import type { CallOptions, ChatCore, ChatStream } from "./chat-stream.ts";
import { ProxyError } from "./errors.ts";
import { retryDelayMs } from "./retry-policy.ts";
import type { ChatChunk, ChatRequest, ModelInfo } from "./types.ts";

/** What the core is built from; one set per loaded config. */
export interface ChatCoreDeps {
  readonly router: Router;
  readonly adapters: ReadonlyMap<string, ProviderAdapter>;
  readonly models: readonly ModelInfo[];
  readonly defaultModel: string | undefined;
  readonly transport: UpstreamTransport;
  /** Total budget of one request, milliseconds. */
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly now: () => number;
  readonly generateId: (prefix: string) => string;
  readonly random: () => number;
}

/** Creates the core. */
export function createChatCore(deps: ChatCoreDeps): ChatCore {
  return {
    defaultModel: deps.defaultModel,
    listModels: () => deps.models,
    openStream: (request, options) => openStream(deps, request, options),
    complete: async (request, options) => aggregateStream(await openStream(deps, request, options)),
  };
}

async function openStream(
  deps: ChatCoreDeps,
  request: ChatRequest,
  options: CallOptions,
): Promise<ChatStream> {
  const targets = deps.router.resolve(request.model);
  if (targets.length === 0) {
    throw new ProxyError("model_not_found", `The model '${request.model}' does not exist on this gateway.`, {
      param: "model",
      code: "model_not_found",
    });
  }
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(deps.timeoutMs)]);
  let lastError: ProxyError | undefined;
  for (const target of targets) {
    for (let attempt = 0; attempt <= deps.maxRetries; attempt++) {
      try {
        return await openAttempt(deps, target, request, options, signal);
      } catch (error) {
        lastError = failureOf(error, options.signal, signal);
        options.log.warn(
          { provider: target.provider, attempt, kind: lastError.kind, err: lastError.cause ?? lastError },
          "upstream attempt failed",
        );
        if (signal.aborted || !lastError.retryable || attempt === deps.maxRetries) break;
        await waitBeforeRetry(deps, attempt, lastError, options.signal, signal);
      }
    }
    if (signal.aborted || (lastError !== undefined && !lastError.retryable)) break;
  }
  throw lastError ?? new ProxyError("internal", "No upstream attempt was made.");
}

async function waitBeforeRetry(
  deps: ChatCoreDeps,
  attempt: number,
  error: ProxyError,
  clientSignal: AbortSignal,
  signal: AbortSignal,
): Promise<void> {
  try {
    await sleep(retryDelayMs(attempt, error.retryAfterMs, deps.random), undefined, { signal });
  } catch (abort) {
    throw failureOf(abort, clientSignal, signal);
  }
}

async function openAttempt(
  deps: ChatCoreDeps,
  target: Target,
  request: ChatRequest,
  options: CallOptions,
  signal: AbortSignal,
): Promise<ChatStream> {
  const adapter = deps.adapters.get(target.provider);
  if (adapter === undefined) {
    throw new ProxyError("configuration", `Provider '${target.provider}' is not configured.`);
  }
  const context: CallContext = {
    upstreamModel: target.upstreamModel,
    signal,
    transport: deps.transport,
    log: options.log,
    requestId: options.requestId,
    now: deps.now,
    generateId: deps.generateId,
  };
  const iterator = adapter.stream(request, context)[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done === true) {
    throw new ProxyError("bad_upstream_response", "The upstream ended the response without any content.");
  }
  const start = first.value.type === "response-start" ? first.value : undefined;
  return {
    id: start?.id ?? deps.generateId("chatcmpl"),
    created: Math.floor(deps.now() / 1000),
    model: request.model,
    choiceCount: request.n ?? 1,
    chunks: relayChunks(iterator, start === undefined ? first.value : undefined, options.signal, signal),
  };
}

/**
 * Relays the adapter's chunks: drops further response-starts, holds usage back so exactly one usage chunk
 * comes last, and turns anything thrown into a ProxyError. Closing it early closes the adapter's stream.
 */
async function* relayChunks(
  iterator: AsyncIterator<ChatChunk>,
  pending: ChatChunk | undefined,
  clientSignal: AbortSignal,
  signal: AbortSignal,
): AsyncGenerator<ChatChunk> {
  let usage: ChatChunk | undefined;
  let finished = false;
  try {
    if (pending !== undefined) yield pending;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) break;
      const chunk = next.value;
      if (chunk.type === "usage") usage = chunk;
      else if (chunk.type !== "response-start") yield chunk;
    }
    finished = true;
  } catch (error) {
    throw failureOf(error, clientSignal, signal);
  } finally {
    if (!finished) await iterator.return?.();
  }
  if (usage !== undefined) yield usage;
}

/** Tells a client cancel from our own deadline, and normalises everything else. */
function failureOf(error: unknown, clientSignal: AbortSignal, signal: AbortSignal): ProxyError {
  if (clientSignal.aborted)
    return new ProxyError("cancelled", "The client cancelled the request.", { cause: error });
  if (signal.aborted)
    return new ProxyError("timeout", "The request exceeded proxy.timeout.", { cause: error });
  return ProxyError.from(error);
}
