/**
 * The lifecycle the core reports (src/core/observer.ts), seen by a recording observer: the events of a retry, a
 * fallback and a streamed answer in their order, with the attempt's opening run inside the observer's runAttempt
 * (where tracing makes the attempt span active); a request that fails before any stream is finished once, not
 * served; fanOut hands every event to each observer and nests their runAttempt in order.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createChatCore } from "../../src/core/chat-core.ts";
import { ProxyError } from "../../src/core/errors.ts";
import { fanOut, type RequestObserver } from "../../src/core/observer.ts";
import type { ChatChunk, ChatRequest } from "../../src/core/types.ts";
import type { ProviderAdapter } from "../../src/providers/types.ts";
import type { Router } from "../../src/routing/router.ts";

const log = pino({ level: "silent" });

/** Records every event as a line; `inside` tells whether runAttempt is running (the adapter reads it). */
function recorder(name = ""): RequestObserver & { readonly events: string[]; inside: boolean } {
  const events: string[] = [];
  return {
    events,
    inside: false,
    requestStarted: ({ request, requestId, stream }) =>
      events.push(`${name}started ${request.model} ${requestId} stream=${stream}`),
    fallback: (from, to) => events.push(`${name}fallback ${from}→${to}`),
    attemptStarted: ({ number, provider, upstreamModel }) =>
      events.push(`${name}attempt ${number} ${provider}/${upstreamModel}`),
    runAttempt(open) {
      this.inside = true;
      events.push(`${name}run`);
      try {
        return open();
      } finally {
        this.inside = false;
      }
    },
    attemptFailed: (error) => events.push(`${name}failed ${error.kind}`),
    firstChunk: () => events.push(`${name}first chunk`),
    choiceFinished: (reason) => events.push(`${name}choice ${reason}`),
    usage: (usage) => events.push(`${name}usage ${usage.promptTokens}/${usage.completionTokens}`),
    finished: (failure, served) => events.push(`${name}finished ${failure?.kind ?? "ok"} served=${served}`),
  };
}

/** Model `m` (deployment p/up-m) falls back to `m2` (p/up-m2); `up-m` is always rate limited. */
function core(seenInside: boolean[], observer: { inside: boolean }) {
  const adapter: ProviderAdapter = {
    name: "p",
    type: "openai",
    async *stream(_request, context): AsyncGenerator<ChatChunk> {
      seenInside.push(observer.inside);
      if (context.upstreamModel === "up-m")
        throw new ProxyError("rate_limited", "slow down", { retryAfterMs: 0, upstreamStatus: 429 });
      yield { type: "response-start", id: "up-1" };
      yield { type: "text-delta", choice: 0, text: "hi" };
      yield { type: "usage", usage: { promptTokens: 3, completionTokens: 1, totalTokens: 4 } };
      yield { type: "finish", choice: 0, reason: "stop", rawReason: "stop" };
    },
  };
  const group = (model: string) => ({
    model,
    deployments: [{ key: `p/up-${model}`, provider: "p", upstreamModel: `up-${model}`, weight: 1 }],
  });
  const router: Router = {
    resolve: (model) =>
      model === "m"
        ? { primary: group("m"), fallbacks: [group("m2")], contextWindowFallbacks: [] }
        : undefined,
  };
  return createChatCore({
    router,
    adapters: new Map([["p", adapter]]),
    models: [{ id: "m", ownedBy: "p" }],
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
    random: () => 1,
  });
}

function request(model: string): ChatRequest {
  return { model, messages: [{ role: "user", content: "hi" }], includeUsage: true };
}

describe("the core's observer", () => {
  it("reports a retry, a fallback and the served stream in order, each opening inside runAttempt", async () => {
    const observer = recorder();
    const seenInside: boolean[] = [];
    const stream = await core(seenInside, observer).openStream(request("m"), {
      signal: new AbortController().signal,
      log,
      requestId: "rid-1",
      observer,
    });
    expect(observer.events.at(-1)).toBe("first chunk");
    for await (const _ of stream.chunks) {
      // Drained: the end of the stream finishes the request.
    }
    expect(observer.events).toEqual([
      "started m rid-1 stream=true",
      "attempt 1 p/up-m",
      "run",
      "failed rate_limited",
      "attempt 2 p/up-m",
      "run",
      "failed rate_limited",
      "fallback m→m2",
      "attempt 3 p/up-m2",
      "run",
      "first chunk",
      "choice stop",
      "usage 3/1",
      "finished ok served=true",
    ]);
    expect(seenInside).toEqual([true, true, true]);
  });

  it("a request that fails before any stream is finished once, not served", async () => {
    const observer = recorder();
    const options = { signal: new AbortController().signal, log, requestId: "rid-2", observer };
    await expect(core([], observer).complete(request("nope"), options)).rejects.toMatchObject({
      kind: "model_not_found",
    });
    expect(observer.events).toEqual([
      "started nope rid-2 stream=false",
      "finished model_not_found served=false",
    ]);
  });

  it("fanOut tells every observer everything and nests their runAttempt, the first outermost", async () => {
    const first = recorder("a:");
    const second = recorder("b:");
    const nesting: string[] = [];
    const both = fanOut([first, second]);
    const result = both.runAttempt?.(() => {
      nesting.push(`inside a=${first.inside} b=${second.inside}`);
      return 42;
    });
    both.finished(new ProxyError("cancelled", "gone"), true);
    expect(result).toBe(42);
    expect(nesting).toEqual(["inside a=true b=true"]);
    expect([...first.events, ...second.events]).toEqual([
      "a:run",
      "a:finished cancelled served=true",
      "b:run",
      "b:finished cancelled served=true",
    ]);
  });
});
