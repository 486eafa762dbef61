import pino from "pino";
import { describe, expect, it } from "vitest";
import { createChatCore } from "../../src/core/chat-core.ts";
import type { CallOptions } from "../../src/core/chat-stream.ts";
import { ProxyError } from "../../src/core/errors.ts";
import type { ChatChunk, ChatRequest } from "../../src/core/types.ts";
import type { CallContext, ProviderAdapter } from "../../src/providers/types.ts";
import type { Router } from "../../src/routing/router.ts";

const log = pino({ level: "silent" });
const request: ChatRequest = { model: "m", messages: [{ role: "user", content: "hi" }], includeUsage: true };

type Script = (context: CallContext, attempt: number) => AsyncGenerator<ChatChunk>;

function coreWith(script: Script, options: { maxRetries?: number; timeoutMs?: number } = {}) {
  let attempts = 0;
  const contexts: CallContext[] = [];
  const adapter: ProviderAdapter = {
    name: "p",
    type: "openai",
    stream: (_request, context) => {
      contexts.push(context);
      return script(context, attempts++);
    },
  };
  const router: Router = {
    resolve: (model) =>
      model === "m"
        ? {
            primary: {
              model: "m",
              deployments: [{ key: "p/up-m", provider: "p", upstreamModel: "up-m", weight: 1 }],
            },
            fallbacks: [],
            contextWindowFallbacks: [],
          }
        : undefined,
  };
  const core = createChatCore({
    router,
    adapters: new Map([["p", adapter]]),
    models: [{ id: "m", ownedBy: "p" }],
    defaultModel: "m",
    transport: { post: () => Promise.reject(new Error("unused")) },
    timeoutMs: options.timeoutMs ?? 5_000,
    firstTokenTimeoutMs: 5_000,
    streamIdleTimeoutMs: 5_000,
    maxRetries: options.maxRetries ?? 2,
    maxRetryWaitMs: 20_000,
    cooldown: { failures: 100, durationMs: 1_000 },
    now: () => 1_700_000_000_000,
    generateId: (prefix) => `${prefix}-test`,
    random: () => 1,
  });
  return { core, contexts, attempts: () => attempts };
}

function callOptions(signal = new AbortController().signal): CallOptions {
  return { signal, log, requestId: "rid-1" };
}

async function collect(chunks: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const seen: ChatChunk[] = [];
  for await (const chunk of chunks) seen.push(chunk);
  return seen;
}

describe("chat core", () => {
  it("routes the model and passes the upstream id, request id and a signal to the adapter", async () => {
    const { core, contexts } = coreWith(async function* () {
      yield { type: "response-start", id: "up-1" };
      yield { type: "text-delta", choice: 0, text: "hi" };
      yield { type: "finish", choice: 0, reason: "stop", rawReason: "stop" };
    });
    const stream = await core.openStream(request, callOptions());
    expect(stream).toMatchObject({ id: "up-1", model: "m", created: 1_700_000_000, choiceCount: 1 });
    expect(await collect(stream.chunks)).toHaveLength(2);
    expect(contexts[0]).toMatchObject({ upstreamModel: "up-m", requestId: "rid-1" });
  });

  it("answers model_not_found for an unknown model", async () => {
    const { core } = coreWith(async function* () {});
    await expect(core.openStream({ ...request, model: "nope" }, callOptions())).rejects.toMatchObject({
      kind: "model_not_found",
      param: "model",
    });
  });

  it("retries retryable failures before the first chunk, then succeeds", async () => {
    const { core, attempts } = coreWith(async function* (_context, attempt) {
      if (attempt < 2) throw new ProxyError("overloaded", "busy", { retryAfterMs: 5 });
      yield { type: "response-start" };
      yield { type: "finish", choice: 0, reason: "stop", rawReason: "stop" };
    });
    const result = await core.complete(request, callOptions());
    expect(attempts()).toBe(3);
    expect(result.choices[0]?.finishReason).toBe("stop");
  });

  it("does not retry a non-retryable failure", async () => {
    const { core, attempts } = coreWith(async function* () {
      yield* [];
      throw new ProxyError("invalid_request", "bad");
    });
    await expect(core.complete(request, callOptions())).rejects.toMatchObject({ kind: "invalid_request" });
    expect(attempts()).toBe(1);
  });

  it("never retries once the first chunk arrived: a mid-stream failure reaches the edge", async () => {
    const { core, attempts } = coreWith(async function* () {
      yield { type: "response-start" };
      yield { type: "text-delta", choice: 0, text: "partial" };
      throw new ProxyError("overloaded", "went away");
    });
    const stream = await core.openStream(request, callOptions());
    await expect(collect(stream.chunks)).rejects.toMatchObject({ kind: "overloaded" });
    expect(attempts()).toBe(1);
  });

  it("emits usage once, last, whatever the adapter's order", async () => {
    const { core } = coreWith(async function* () {
      yield { type: "response-start" };
      yield { type: "usage", usage: { promptTokens: 1, completionTokens: 0, totalTokens: 1 } };
      yield { type: "text-delta", choice: 0, text: "a" };
      yield { type: "usage", usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 } };
      yield { type: "finish", choice: 0, reason: "stop", rawReason: null };
    });
    const chunks = await collect((await core.openStream(request, callOptions())).chunks);
    expect(chunks.map((chunk) => chunk.type)).toEqual(["text-delta", "finish", "usage"]);
    expect(chunks[2]).toEqual({
      type: "usage",
      usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
    });
  });

  it("aggregates tool calls with content null and keeps reasoning", async () => {
    const { core } = coreWith(async function* () {
      yield { type: "response-start" };
      yield { type: "reasoning-delta", choice: 0, text: "think" };
      yield { type: "tool-call-start", choice: 0, index: 1, id: "call_b", name: "b" };
      yield { type: "tool-call-start", choice: 0, index: 0, id: "call_a", name: "a" };
      yield { type: "tool-call-delta", choice: 0, index: 0, arguments: '{"x"' };
      yield { type: "tool-call-delta", choice: 0, index: 1, arguments: "{}" };
      yield { type: "tool-call-delta", choice: 0, index: 0, arguments: ":1}" };
      yield { type: "finish", choice: 0, reason: "tool_calls", rawReason: "tool_calls" };
    });
    const result = await core.complete(request, callOptions());
    expect(result.choices[0]).toEqual({
      index: 0,
      content: null,
      reasoningContent: "think",
      toolCalls: [
        { id: "call_a", name: "a", arguments: '{"x":1}' },
        { id: "call_b", name: "b", arguments: "{}" },
      ],
      finishReason: "tool_calls",
      rawFinishReason: "tool_calls",
    });
  });

  it("reports a client cancel as cancelled and aborts the adapter's signal", async () => {
    const controller = new AbortController();
    const { core, contexts } = coreWith(async function* (context) {
      yield { type: "response-start" };
      await new Promise((_resolve, reject) =>
        context.signal.addEventListener("abort", () => reject(context.signal.reason)),
      );
    });
    const stream = await core.openStream(request, callOptions(controller.signal));
    const pending = collect(stream.chunks);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ kind: "cancelled" });
    expect(contexts[0]?.signal.aborted).toBe(true);
  });

  it("reports the total budget running out as timeout", async () => {
    const { core } = coreWith(
      async function* (context) {
        await new Promise((_resolve, reject) =>
          context.signal.addEventListener("abort", () => reject(context.signal.reason)),
        );
        yield { type: "response-start" };
      },
      { timeoutMs: 50, maxRetries: 0 },
    );
    await expect(core.openStream(request, callOptions())).rejects.toMatchObject({ kind: "timeout" });
  });
});
