/**
 * The lifecycle the core reports (src/core/observer.ts), seen by a recording observer: the events of a retry, a
 * fallback and a streamed answer in their order, each attempt's adapter handed that attempt's upstream-call observer
 * (where tracing adds `traceparent`); a request that fails before any stream is finished once, not served; fanOut
 * hands every event to each observer and the first upstream-call observer one of them has.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createChatCore } from "../../src/core/chat-core.ts";
import { ProxyError } from "../../src/core/errors.ts";
import { fanOut, type RequestObserver, type UpstreamCallObserver } from "../../src/core/observer.ts";
import type { ChatChunk, ChatRequest } from "../../src/core/types.ts";
import type { ProviderAdapter } from "../../src/providers/types.ts";
import type { Router } from "../../src/routing/router.ts";

const log = pino({ level: "silent" });

/**
 * Records every event as a line. Its upstream-call observer (none with `calls: false`) stamps the attempt's number
 * into the headers, so the adapter shows which attempt's observer it was handed.
 */
function recorder(name = "", calls = true): RequestObserver & { readonly events: string[] } {
  const events: string[] = [];
  let attempt = 0;
  const upstreamCall = (): UpstreamCallObserver => {
    const number = attempt;
    events.push(`${name}upstream call ${number}`);
    return {
      headers: (_url, headers) => ({ ...headers, "x-attempt": `${name}${number}` }),
      answered: (status) => events.push(`${name}answered ${status}`),
    };
  };
  return {
    events,
    requestStarted: ({ request, requestId, stream }) =>
      events.push(`${name}started ${request.model} ${requestId} stream=${stream}`),
    fallback: (from, to) => events.push(`${name}fallback ${from}→${to}`),
    attemptStarted: ({ number, provider, upstreamModel }) => {
      attempt = number;
      events.push(`${name}attempt ${number} ${provider}/${upstreamModel}`);
    },
    ...(calls ? { upstreamCall } : {}),
    attemptFailed: (error) => events.push(`${name}failed ${error.kind}`),
    firstChunk: () => events.push(`${name}first chunk`),
    choiceFinished: (reason) => events.push(`${name}choice ${reason}`),
    usage: (usage) => events.push(`${name}usage ${usage.promptTokens}/${usage.completionTokens}`),
    finished: (failure, served) => events.push(`${name}finished ${failure?.kind ?? "ok"} served=${served}`),
  };
}

/** Model `m` (deployment p/up-m) falls back to `m2` (p/up-m2); `up-m` is always rate limited. */
function core(seenHeaders: string[]) {
  const adapter: ProviderAdapter = {
    name: "p",
    type: "openai",
    async *stream(_request, context): AsyncGenerator<ChatChunk> {
      seenHeaders.push(context.upstreamCall?.headers("http://vendor.test/v1", {})["x-attempt"] ?? "none");
      context.upstreamCall?.answered(context.upstreamModel === "up-m" ? 429 : 200);
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
  it("reports a retry, a fallback and the served stream in order, each attempt with its own upstream call", async () => {
    const observer = recorder();
    const seenHeaders: string[] = [];
    const stream = await core(seenHeaders).openStream(request("m"), {
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
      "upstream call 1",
      "answered 429",
      "failed rate_limited",
      "attempt 2 p/up-m",
      "upstream call 2",
      "answered 429",
      "failed rate_limited",
      "fallback m→m2",
      "attempt 3 p/up-m2",
      "upstream call 3",
      "answered 200",
      "first chunk",
      "choice stop",
      "usage 3/1",
      "finished ok served=true",
    ]);
    expect(seenHeaders).toEqual(["1", "2", "3"]);
  });

  it("a request that fails before any stream is finished once, not served", async () => {
    const observer = recorder();
    const options = { signal: new AbortController().signal, log, requestId: "rid-2", observer };
    await expect(core([]).complete(request("nope"), options)).rejects.toMatchObject({
      kind: "model_not_found",
    });
    expect(observer.events).toEqual([
      "started nope rid-2 stream=false",
      "finished model_not_found served=false",
    ]);
  });

  it("fanOut tells every observer everything and hands on the first upstream-call observer there is", async () => {
    const silent = recorder("a:", false);
    const second = recorder("b:");
    const third = recorder("c:");
    const all = fanOut([silent, second, third]);
    all.attemptStarted({ number: 1, provider: "p", upstreamModel: "up" });
    const call = all.upstreamCall?.();
    expect(call?.headers("http://vendor.test/v1", { accept: "x" })).toEqual({
      accept: "x",
      "x-attempt": "b:1",
    });
    all.finished(new ProxyError("cancelled", "gone"), true);
    expect([...silent.events, ...second.events, ...third.events]).toEqual([
      "a:attempt 1 p/up",
      "a:finished cancelled served=true",
      "b:attempt 1 p/up",
      "b:upstream call 1",
      "b:finished cancelled served=true",
      "c:attempt 1 p/up",
      "c:finished cancelled served=true",
    ]);
    expect(fanOut([silent]).upstreamCall?.()).toBeUndefined();
  });
});
