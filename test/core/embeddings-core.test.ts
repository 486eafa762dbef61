/**
 * The core's embeddings call (src/core/embeddings-core.ts) with scripted adapters: routing, a retry on a 5xx, a
 * fallback to another model, the observer's lifecycle (operation, usage, finished once), a 400 for a model whose
 * provider has no embeddings (before any attempt), clear 400s for bad inputs, the client's cancel reaching the
 * adapter, and the batch splitter (src/providers/embedding-batches.ts) keeping order across batches.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createChatCore } from "../../src/core/chat-core.ts";
import type { EmbeddingsRequest } from "../../src/core/embeddings-types.ts";
import { ProxyError } from "../../src/core/errors.ts";
import type { RequestObserver } from "../../src/core/observer.ts";
import { embedInBatches } from "../../src/providers/embedding-batches.ts";
import type { CallContext, ProviderAdapter } from "../../src/providers/types.ts";
import type { Router } from "../../src/routing/router.ts";

const log = pino({ level: "silent" });

type Embed = NonNullable<ProviderAdapter["embed"]>;

function adapter(
  name: string,
  embed: Embed | undefined,
  type: ProviderAdapter["type"] = "openai",
): ProviderAdapter {
  return {
    name,
    type,
    // biome-ignore lint/correctness/useYield: embeddings tests never stream.
    stream: async function* () {
      throw new Error("unused");
    },
    ...(embed === undefined ? {} : { embed }),
  };
}

/** Model `m` on provider `p` falls back to `m2` on provider `q`; `claude` is served by an Anthropic provider. */
function coreWith(adapters: readonly ProviderAdapter[], maxEmbeddingInputs?: number) {
  const group = (model: string, provider: string) => ({
    model,
    deployments: [{ key: `${provider}/up-${model}`, provider, upstreamModel: `up-${model}`, weight: 1 }],
  });
  const router: Router = {
    resolve: (model) => {
      if (model === "m")
        return { primary: group("m", "p"), fallbacks: [group("m2", "q")], contextWindowFallbacks: [] };
      if (model === "claude")
        return { primary: group("claude", "a"), fallbacks: [], contextWindowFallbacks: [] };
      return undefined;
    },
  };
  return createChatCore({
    router,
    adapters: new Map(adapters.map((entry) => [entry.name, entry])),
    models: [],
    defaultModel: "m",
    transport: { post: () => Promise.reject(new Error("unused")) },
    timeoutMs: 5_000,
    firstTokenTimeoutMs: 5_000,
    streamIdleTimeoutMs: 5_000,
    maxRetries: 1,
    maxRetryWaitMs: 20_000,
    cooldown: { failures: 100, durationMs: 1_000 },
    now: () => 1_700_000_000_000,
    generateId: (prefix) => `${prefix}-test`,
    random: () => 0,
    ...(maxEmbeddingInputs === undefined ? {} : { maxEmbeddingInputs }),
  });
}

function recorder(): RequestObserver & { readonly events: string[] } {
  const events: string[] = [];
  return {
    events,
    requestStarted: (start) => events.push(`started ${start.operation} ${start.request.model}`),
    fallback: (from, to) => events.push(`fallback ${from}→${to}`),
    attemptStarted: ({ number, provider }) => events.push(`attempt ${number} ${provider}`),
    attemptFailed: (error) => events.push(`failed ${error.kind}`),
    firstChunk: () => events.push("answered"),
    choiceFinished: () => events.push("choice"),
    usage: (usage) => events.push(`usage ${usage.promptTokens}/${usage.completionTokens}`),
    finished: (failure, served) => events.push(`finished ${failure?.kind ?? "ok"} served=${served}`),
  };
}

const vectorsOf = (request: EmbeddingsRequest) => request.inputs.map((_input, index) => [index, 0.5]);

const request = (inputs: EmbeddingsRequest["inputs"], extra: Partial<EmbeddingsRequest> = {}) => ({
  model: "m",
  inputs,
  ...extra,
});

const options = (observer?: RequestObserver, signal = new AbortController().signal) => ({
  signal,
  log,
  requestId: "rid-1",
  ...(observer === undefined ? {} : { observer }),
});

describe("embeddings core", () => {
  it("retries a 5xx, then answers every vector in order with usage, and reports the lifecycle", async () => {
    let calls = 0;
    const contexts: CallContext[] = [];
    const p = adapter("p", async (received, context) => {
      contexts.push(context);
      if (calls++ === 0) throw new ProxyError("upstream_error", "boom", { upstreamStatus: 500 });
      return { vectors: vectorsOf(received), usage: { promptTokens: 7, totalTokens: 7 } };
    });
    const observer = recorder();
    const result = await coreWith([p]).embed(request(["a", "b"]), options(observer));
    expect(result).toMatchObject({
      model: "m",
      vectors: [
        [0, 0.5],
        [1, 0.5],
      ],
      usage: { promptTokens: 7, totalTokens: 7 },
      served: { provider: "p", upstreamModel: "up-m", attempts: 2 },
    });
    expect(contexts[1]).toMatchObject({ upstreamModel: "up-m", requestId: "rid-1" });
    expect(observer.events).toEqual([
      "started embeddings m",
      "attempt 1 p",
      "failed upstream_error",
      "attempt 2 p",
      "answered",
      "usage 7/0",
      "finished ok served=true",
    ]);
  });

  it("falls back to the next model when the first keeps failing", async () => {
    const p = adapter("p", async () => {
      throw new ProxyError("overloaded", "busy", { upstreamStatus: 503 });
    });
    const q = adapter("q", async (received) => ({ vectors: vectorsOf(received) }));
    const observer = recorder();
    const result = await coreWith([p, q]).embed(request(["a"]), options(observer));
    expect(result.served).toEqual({ provider: "q", upstreamModel: "up-m2", attempts: 3 });
    expect(result.usage).toEqual({ promptTokens: 0, totalTokens: 0 });
    expect(observer.events).toContain("fallback m→m2");
  });

  it("answers 400 naming the model and why when its provider has no embeddings, with no attempt", async () => {
    const observer = recorder();
    const error = await coreWith([adapter("a", undefined, "anthropic")])
      .embed(request(["a"], { model: "claude" }), options(observer))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({ kind: "invalid_request", param: "model" });
    expect((error as ProxyError).message).toMatch(/'claude' does not support embeddings.*anthropic API/);
    expect(observer.events).toEqual(["started embeddings claude", "finished invalid_request served=false"]);
  });

  it.each([
    { inputs: [], message: /at least one/ },
    { inputs: ["a", "b", "c"], message: /holds 3 items.*at most 2.*max_embedding_inputs/ },
    { inputs: ["a", ""], message: /'input\[1\]' is empty/ },
    { inputs: [[1, -2]], message: /token ids/ },
    { inputs: ["a"], dimensions: 0, message: /'dimensions' must be a positive integer/ },
  ])("refuses $inputs (dimensions $dimensions) with a clear 400", async ({ inputs, dimensions, message }) => {
    let called = false;
    const p = adapter("p", async (received) => {
      called = true;
      return { vectors: vectorsOf(received) };
    });
    const error = await coreWith([p], 2)
      .embed(request(inputs, dimensions === undefined ? {} : { dimensions }), options())
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: "invalid_request" });
    expect((error as ProxyError).message).toMatch(message);
    expect(called).toBe(false);
  });

  it("passes the client's cancel to the adapter's signal and reports cancelled", async () => {
    const client = new AbortController();
    let seen: AbortSignal | undefined;
    const p = adapter("p", (_received, context) => {
      seen = context.signal;
      setTimeout(() => client.abort(new ProxyError("cancelled", "gone")), 10);
      return new Promise((_resolve, reject) => {
        context.signal.addEventListener("abort", () => reject(context.signal.reason));
      });
    });
    const error = await coreWith([p])
      .embed(request(["a"]), options(undefined, client.signal))
      .catch((caught: unknown) => caught);
    expect(seen?.aborted).toBe(true);
    expect(error).toMatchObject({ kind: "cancelled" });
  });
});

describe("embedInBatches", () => {
  const context = { signal: new AbortController().signal } as CallContext;

  it("splits 25 inputs at a cap of 10 into 3 calls and joins the vectors in input order", async () => {
    const batches: number[] = [];
    const inputs = Array.from({ length: 25 }, (_unused, index) => `item-${index}`);
    const answer = await embedInBatches(inputs, 10, context, async (batch) => {
      batches.push(batch.length);
      // Later batches answer first: order must come from the split, not from arrival.
      await new Promise((resolve) => setTimeout(resolve, 30 - batches.length * 10));
      return {
        vectors: batch.map((input) => [Number(String(input).slice(5))]),
        usage: { promptTokens: batch.length, totalTokens: batch.length },
      };
    });
    expect(batches).toEqual([10, 10, 5]);
    expect(answer.vectors.map((vector) => vector[0])).toEqual(inputs.map((_input, index) => index));
    expect(answer.usage).toEqual({ promptTokens: 25, totalTokens: 25 });
  });

  it("fails with the first failing batch and aborts the batches still running", async () => {
    const aborted: boolean[] = [];
    const inputs = Array.from({ length: 30 }, (_unused, index) => `item-${index}`);
    const failure = new ProxyError("upstream_error", "batch 2 failed");
    const error = await embedInBatches(inputs, 10, context, (batch, batchContext) => {
      if (batch[0] === "item-10") return Promise.reject(failure);
      return new Promise((_resolve, reject) => {
        batchContext.signal.addEventListener("abort", () => {
          aborted.push(true);
          reject(batchContext.signal.reason);
        });
      });
    }).catch((caught: unknown) => caught);
    expect(error).toBe(failure);
    expect(aborted).toEqual([true, true]);
  });
});
