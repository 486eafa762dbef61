/** The core's failure handling with scripted adapters: fallbacks, balancing, cooldown, timeouts, cleanup. */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { createChatCore } from "../../src/core/chat-core.ts";
import type { CallOptions, ChatCore } from "../../src/core/chat-stream.ts";
import { ProxyError } from "../../src/core/errors.ts";
import type { ChatChunk, ChatRequest } from "../../src/core/types.ts";
import type { CallContext, ProviderAdapter } from "../../src/providers/types.ts";
import { createRouter } from "../../src/routing/router.ts";

type Behaviour = (context: CallContext) => AsyncGenerator<ChatChunk>;

const log = pino({ level: "silent" });

const ok = (text: string): Behaviour =>
  async function* () {
    yield { type: "response-start" };
    yield { type: "text-delta", choice: 0, text };
    yield { type: "finish", choice: 0, reason: "stop", rawReason: "stop" };
  };
const fail = (error: () => ProxyError): Behaviour =>
  // biome-ignore lint/correctness/useYield: fails before its first chunk by design.
  async function* () {
    throw error();
  };
const hangUntilAborted = (afterStart: boolean): Behaviour =>
  async function* (context) {
    if (afterStart) yield { type: "response-start" };
    await new Promise((_resolve, reject) =>
      context.signal.addEventListener("abort", () => reject(context.signal.reason)),
    );
  };

interface Harness {
  readonly core: ChatCore;
  readonly calls: string[];
  readonly contexts: CallContext[];
  setNow(value: number): void;
}

function harness(yaml: string, behaviours: Record<string, Behaviour>, random = () => 0.5): Harness {
  const config = parseConfig(yaml, "t");
  const calls: string[] = [];
  const contexts: CallContext[] = [];
  let now = 1_000_000;
  const adapters = new Map<string, ProviderAdapter>();
  for (const name of config.providers.keys()) {
    adapters.set(name, {
      name,
      type: "openai",
      stream: (_request, context) => {
        calls.push(`${name}/${context.upstreamModel}`);
        contexts.push(context);
        const behaviour = behaviours[name] ?? ok(name);
        return behaviour(context);
      },
    });
  }
  const core = createChatCore({
    router: createRouter(config),
    adapters,
    models: [],
    defaultModel: undefined,
    transport: { post: () => Promise.reject(new Error("unused")) },
    timeoutMs: config.proxy.timeoutMs,
    firstTokenTimeoutMs: config.proxy.firstTokenTimeoutMs,
    streamIdleTimeoutMs: config.proxy.streamIdleTimeoutMs,
    maxRetries: config.proxy.maxRetries,
    maxRetryWaitMs: config.proxy.maxRetryWaitMs,
    cooldown: config.proxy.cooldown,
    now: () => now,
    generateId: (prefix) => `${prefix}-x`,
    random,
  });
  return { core, calls, contexts, setNow: (value) => (now = value) };
}

const providers = "providers: {a: {type: echo}, b: {type: echo}, c: {type: echo}}";
const request = (model: string): ChatRequest => ({
  model,
  messages: [{ role: "user", content: "q" }],
  includeUsage: false,
});
const options = (signal = new AbortController().signal): CallOptions => ({ signal, log, requestId: "rid" });

async function text(core: ChatCore, model: string): Promise<string> {
  const result = await core.complete(request(model), options());
  return result.choices[0]?.content ?? "";
}

describe("fallbacks", () => {
  it("falls back to another vendor after retries of a rate-limited one are exhausted", async () => {
    const { core, calls } = harness(
      `model_config: {m: a, spare: b}\nfallbacks: {m: [spare]}\nproxy: {max_retries: 1}\n${providers}`,
      { a: fail(() => new ProxyError("rate_limited", "slow down", { retryAfterMs: 1 })) },
    );
    expect(await text(core, "m")).toBe("b");
    expect(calls).toEqual(["a/m", "a/m", "b/spare"]);
  });

  it("falls back without retrying when the vendor rejects our key", async () => {
    const { core, calls } = harness(`model_config: {m: a, spare: b}\nfallbacks: {m: [spare]}\n${providers}`, {
      a: fail(() => new ProxyError("authentication", "bad key")),
    });
    expect(await text(core, "m")).toBe("b");
    expect(calls).toEqual(["a/m", "b/spare"]);
  });

  it("does not fall back for a malformed request", async () => {
    const { core, calls } = harness(`model_config: {m: a, spare: b}\nfallbacks: {m: [spare]}\n${providers}`, {
      a: fail(() => new ProxyError("invalid_request", "bad field")),
    });
    await expect(core.complete(request("m"), options())).rejects.toMatchObject({ kind: "invalid_request" });
    expect(calls).toEqual(["a/m"]);
  });

  it("switches to a larger model on a context-window error", async () => {
    const { core, calls } = harness(
      `model_config: {m: a, spare: b, large: c}\nfallbacks: {m: [spare]}\ncontext_window_fallbacks: {m: [large]}\n${providers}`,
      {
        a: fail(
          () => new ProxyError("invalid_request", "This model's maximum context length is 8192 tokens."),
        ),
      },
    );
    expect(await text(core, "m")).toBe("c");
    expect(calls).toEqual(["a/m", "c/large"]);
  });

  it("moves on instead of waiting when retry-after exceeds max_retry_wait", async () => {
    const { core, calls } = harness(
      `model_config: {m: [a, b]}\nproxy: {max_retry_wait: 1}\n${providers}`,
      {
        a: fail(() => new ProxyError("rate_limited", "later", { retryAfterMs: 60_000 })),
      },
      () => 0.9,
    );
    const started = performance.now();
    expect(await text(core, "m")).toBe("b");
    expect(performance.now() - started).toBeLessThan(500);
    expect(calls.filter((call) => call.startsWith("a"))).toHaveLength(1);
  });
});

describe("load balancing and cooldown", () => {
  it("rotates to the other deployment on a transient failure", async () => {
    const { core, calls } = harness(
      `model_config: {m: [a, b]}\n${providers}`,
      {
        a: fail(() => new ProxyError("overloaded", "busy", { retryAfterMs: 0 })),
      },
      () => 0.9,
    );
    expect(await text(core, "m")).toBe("b");
    expect(calls[0]).toBe("a/m");
  });

  it("cools a failing deployment down, then probes it once and restores it", async () => {
    let aHealthy = false;
    const { core, calls, setNow } = harness(
      `model_config: {m: [a, b]}\nproxy: {cooldown: {failures: 2, seconds: 10}}\n${providers}`,
      {
        a: (context) =>
          aHealthy
            ? ok("a")(context)
            : fail(() => new ProxyError("upstream_error", "500", { retryAfterMs: 0 }))(context),
      },
      () => 0.99,
    );
    // random 0.99 ranks equal weights in config order: a first while healthy.
    await text(core, "m");
    await text(core, "m");
    calls.length = 0;
    await text(core, "m");
    expect(calls).toEqual(["b/m"]);
    aHealthy = true;
    setNow(1_000_000 + 11_000);
    calls.length = 0;
    // The cooldown is over: the next request is a's probe; its success gives a full traffic again.
    expect(await text(core, "m")).toBe("a");
    expect(await text(core, "m")).toBe("a");
    expect(calls).toEqual(["a/m", "a/m"]);
  });
});

describe("timeouts and cleanup", () => {
  it("gives up on an attempt with no first chunk within first_token_timeout and retries elsewhere", async () => {
    const { core, calls, contexts } = harness(
      `model_config: {m: [a, b]}\nproxy: {first_token_timeout: 0.05, max_retries: 1}\n${providers}`,
      {
        a: hangUntilAborted(false),
      },
      () => 0.99,
    );
    expect(await text(core, "m")).toBe("b");
    expect(calls).toEqual(["a/m", "b/m"]);
    expect(contexts[0]?.signal.aborted).toBe(true);
  });

  it("ends a started stream that goes idle with a timeout error, and aborts the upstream", async () => {
    const { core, contexts } = harness(
      `model_config: {m: a}\nproxy: {stream_idle_timeout: 0.05}\n${providers}`,
      {
        a: hangUntilAborted(true),
      },
    );
    const stream = await core.openStream(request("m"), options());
    const consume = async () => {
      for await (const _chunk of stream.chunks) {
        // drain
      }
    };
    await expect(consume()).rejects.toMatchObject({
      kind: "timeout",
      message: expect.stringMatching(/idle/),
    });
    expect(contexts[0]?.signal.aborted).toBe(true);
  });

  it("reports the total budget as timeout, not retryable", async () => {
    const { core } = harness(`model_config: {m: a}\nproxy: {timeout: 0.05}\n${providers}`, {
      a: hangUntilAborted(false),
    });
    await expect(core.openStream(request("m"), options())).rejects.toMatchObject({
      kind: "timeout",
      retryable: false,
    });
  });

  it("reports a caller deadline (TimeoutError) as timeout and a cancel as cancelled", async () => {
    const { core } = harness(`model_config: {m: a}\n${providers}`, { a: hangUntilAborted(false) });
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(new DOMException("deadline", "TimeoutError")), 20);
    await expect(core.openStream(request("m"), options(deadline.signal))).rejects.toMatchObject({
      kind: "timeout",
    });
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 20);
    await expect(core.openStream(request("m"), options(cancel.signal))).rejects.toMatchObject({
      kind: "cancelled",
    });
  });

  it("aborts the upstream when the edge abandons a stream it never read", async () => {
    const { core, contexts } = harness(`model_config: {m: a}\n${providers}`, { a: hangUntilAborted(true) });
    const stream = await core.openStream(request("m"), options());
    await stream.chunks.return?.();
    expect(contexts[0]?.signal.aborted).toBe(true);
  });
});
