import { describe, expect, it } from "vitest";
import type { ProviderConfig } from "../../src/config/config.ts";
import { ProxyError } from "../../src/core/errors.ts";
import type { Annotation, ChatRequest, TokenLogprob } from "../../src/core/types.ts";
import { createOpenAICompatibleAdapter } from "../../src/providers/openai-compatible/adapter.ts";
import {
  createTestProviderConfig,
  jsonRecording,
  type Recording,
  readFixture,
  sseRecording,
} from "../helpers/replay-transport.ts";
import {
  CONFORMANCE_REQUEST,
  CONFORMANCE_TOOL_REQUEST,
  expectWellFormedStream,
  finishesOf,
  lastUsage,
  replay,
  runAdapterConformance,
  textOf,
  toolCallsOf,
} from "./adapter-conformance.ts";

const API_KEY = "sk-test-4f9a8b7c6d5e4f3a";
const WEATHER_ARGS = '{"city":"São Paulo","unit":"celsius"}';
const TIME_ARGS = '{"city":"東京","format":"24h \\"HH:MM\\""}';
const UNICODE_TEXT = "你好，世界！ 🌏🚀 café — 𝄞 東京タワー🇯🇵 👩‍💻。";

/**
 * The fidelity fixtures, written from OpenAI's documented examples (the logprobs example, a web-search
 * url_citation, a structured-output refusal, the chat.completion object's usage): one answer with n=2, as JSON
 * and as a stream interleaving both choices. Expected canonical values are the JSON's, with keys renamed.
 */
type WireToken = { token: string; logprob: number; bytes: number[] | null; top_logprobs?: WireToken[] };
type WireChoice = {
  message: {
    content: string | null;
    refusal: string | null;
    annotations: { url_citation: { url: string; title: string; start_index: number; end_index: number } }[];
  };
  logprobs: { content: WireToken[] | null; refusal: WireToken[] | null };
};
const FIDELITY = JSON.parse(new TextDecoder().decode(readFixture("openai-compatible/fidelity.json"))) as {
  choices: [WireChoice, WireChoice];
};
const canonicalToken = ({ top_logprobs, ...top }: WireToken): TokenLogprob =>
  top_logprobs === undefined ? top : { ...top, topLogprobs: top_logprobs.map(canonicalToken) };
const canonicalTokens = (tokens: WireToken[] | null) => (tokens === null ? null : tokens.map(canonicalToken));
const canonicalAnnotations = (choice: WireChoice): Annotation[] =>
  choice.message.annotations.map(({ url_citation: citation }) => ({
    type: "url_citation",
    url: citation.url,
    title: citation.title,
    startIndex: citation.start_index,
    endIndex: citation.end_index,
  }));
const [ANSWER, REFUSAL] = FIDELITY.choices;
const FIDELITY_CHOICES = [
  {
    index: 0,
    content: ANSWER.message.content,
    annotations: canonicalAnnotations(ANSWER),
    logprobs: { content: canonicalTokens(ANSWER.logprobs.content), refusal: null },
    finishReason: "stop",
  },
  {
    index: 1,
    content: null,
    refusal: REFUSAL.message.refusal ?? "",
    logprobs: { content: null, refusal: canonicalTokens(REFUSAL.logprobs.refusal) },
    finishReason: "stop",
  },
] as const;
const FIDELITY_START = {
  type: "response-start",
  id: "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
  model: "gpt-4o-2024-08-06",
  systemFingerprint: "fp_fc9f1d7035",
  serviceTier: "default",
} as const;
const FIDELITY_USAGE = {
  promptTokens: 1117,
  completionTokens: 46,
  totalTokens: 1163,
  cachedTokens: 1024,
  promptAudioTokens: 0,
  reasoningTokens: 0,
  completionAudioTokens: 0,
  acceptedPredictionTokens: 2,
  rejectedPredictionTokens: 1,
};

const openAIConfig = (overrides: Partial<ProviderConfig> = {}): ProviderConfig =>
  createTestProviderConfig({ name: "openai", baseUrl: "https://api.openai.test/v1", ...overrides });

const fixture = (file: string): Recording => sseRecording(`openai-compatible/${file}`);
const errorFixture = (file: string, status: number, headers: Record<string, string> = {}): Recording =>
  jsonRecording(`openai-compatible/${file}`, status, { headers });

runAdapterConformance({
  name: "openai-compatible",
  makeAdapter: () => createOpenAICompatibleAdapter(openAIConfig(), API_KEY),
  upstreamModel: "gpt-4o-mini",
  apiKey: API_KEY,
  fixtures: {
    text: { recording: fixture("text.sse"), expectedText: "Hello! How can I help you today?" },
    parallelToolCalls: {
      recording: fixture("parallel-tool-calls.sse"),
      expectedCalls: [
        { id: "call_kX2bQ9weatherSaoPaulo", name: "get_weather", arguments: WEATHER_ARGS },
        { id: "call_r7LmT3timeTokyo0001", name: "get_time", arguments: TIME_ARGS },
      ],
    },
    noArgumentTool: { recording: fixture("no-argument-tool.sse"), expectedName: "list_files" },
    usage: {
      recording: fixture("usage.sse"),
      expectedUsage: {
        promptTokens: 1200,
        completionTokens: 80,
        totalTokens: 1280,
        cachedTokens: 1024,
        promptAudioTokens: 0,
        reasoningTokens: 64,
        completionAudioTokens: 0,
        acceptedPredictionTokens: 0,
        rejectedPredictionTokens: 0,
      },
    },
    finishReasons: [
      { label: "stop", recording: fixture("text.sse"), expectedReason: "stop", expectedRawReason: "stop" },
      {
        label: "length",
        recording: fixture("finish-length.sse"),
        expectedReason: "length",
        expectedRawReason: "length",
      },
      {
        label: "tool_calls",
        recording: fixture("parallel-tool-calls.sse"),
        request: CONFORMANCE_TOOL_REQUEST,
        expectedReason: "tool_calls",
        expectedRawReason: "tool_calls",
      },
      {
        label: "content_filter",
        recording: fixture("finish-content-filter.sse"),
        expectedReason: "content_filter",
        expectedRawReason: "content_filter",
      },
    ],
    reasoning: {
      recording: fixture("deepseek-reasoning.sse"),
      expectedReasoning: "Okay, the user wants a greeting. Keep it short.",
      expectedText: "Hello! 👋 How can I help?",
    },
    fidelity: [
      {
        label: "stream, two interleaved choices",
        recording: fixture("fidelity.sse"),
        request: { ...CONFORMANCE_REQUEST, n: 2 },
        expectedStart: FIDELITY_START,
        expectedChoices: FIDELITY_CHOICES,
        expectedUsage: FIDELITY_USAGE,
      },
      {
        label: "JSON answer",
        recording: jsonRecording("openai-compatible/fidelity.json", 200),
        request: { ...CONFORMANCE_REQUEST, n: 2 },
        expectedStart: FIDELITY_START,
        // The whole answer also says choice 1 has no annotations (an empty list).
        expectedChoices: [FIDELITY_CHOICES[0], { ...FIDELITY_CHOICES[1], annotations: [] }],
        expectedUsage: FIDELITY_USAGE,
      },
    ],
    unicodeSplit: { recording: fixture("unicode.sse"), expectedText: UNICODE_TEXT },
    errors: [
      {
        recording: errorFixture("error-400.json", 400),
        expectedKind: "invalid_request",
        expectedCode: "invalid_type",
      },
      {
        recording: errorFixture("error-401.json", 401),
        expectedKind: "authentication",
        expectedRetryable: false,
      },
      {
        recording: errorFixture("error-404.json", 404),
        expectedKind: "upstream_not_found",
        expectedCode: "model_not_found",
      },
      {
        recording: errorFixture("error-429.json", 429, { "retry-after": "2" }),
        expectedKind: "rate_limited",
        expectedRetryAfterMs: 2000,
        expectedRetryable: true,
      },
      {
        recording: errorFixture("error-429-quota.json", 429),
        expectedKind: "quota_exceeded",
        expectedRetryable: false,
      },
      {
        recording: errorFixture("error-500.json", 500),
        expectedKind: "upstream_error",
        expectedRetryable: true,
      },
      { recording: errorFixture("error-503.json", 503), expectedKind: "overloaded", expectedRetryable: true },
    ],
    malformedEvent: { recording: fixture("malformed.sse"), expectedTextBefore: "Hello" },
    midStreamError: {
      recording: fixture("mid-stream-error.sse"),
      expectedKind: "upstream_error",
      expectedTextBefore: "Let me think",
    },
    abort: { recording: fixture("text.sse") },
  },
});

const suite = {
  makeAdapter: () => createOpenAICompatibleAdapter(openAIConfig(), API_KEY),
  upstreamModel: "gpt-4o-mini",
};
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

async function expectFailure(recording: Recording, kind: string, request: ChatRequest = CONFORMANCE_REQUEST) {
  const outcome = await replay(suite, recording, request, { seed: 3 });
  expect(outcome.error).toBeInstanceOf(ProxyError);
  expect((outcome.error as ProxyError).kind).toBe(kind);
  return outcome;
}

describe("openai-compatible stream reading", () => {
  it("reassembles parallel calls whose fragments interleave, also two indices in one delta", async () => {
    for (const seed of SEEDS) {
      const { chunks, error } = await replay(
        suite,
        fixture("parallel-tool-calls-interleaved.sse"),
        CONFORMANCE_TOOL_REQUEST,
        {
          seed,
        },
      );
      expect(error).toBeUndefined();
      expectWellFormedStream(chunks);
      expect(toolCallsOf(chunks)).toEqual([
        { index: 0, id: "call_kX2bQ9weatherSaoPaulo", name: "get_weather", arguments: WEATHER_ARGS },
        { index: 1, id: "call_r7LmT3timeTokyo0001", name: "get_time", arguments: TIME_ARGS },
      ]);
    }
  });

  it("treats a new id and name on an index in use as a new call (servers that reuse index 0)", async () => {
    const { chunks, error } = await replay(suite, fixture("index-reuse.sse"), CONFORMANCE_TOOL_REQUEST, {
      seed: 2,
    });
    expect(error).toBeUndefined();
    expectWellFormedStream(chunks);
    expect(toolCallsOf(chunks)).toEqual([
      { index: 0, id: "call_a1", name: "get_weather", arguments: WEATHER_ARGS },
      { index: 1, id: "call_b2", name: "get_time", arguments: TIME_ARGS },
    ]);
  });

  it("yields response-start with the upstream id, model, tier and fingerprint, and usage from the choices:[] chunk", async () => {
    const { chunks } = await replay(suite, fixture("text.sse"), CONFORMANCE_REQUEST, { seed: 1 });
    expect(chunks[0]).toEqual({
      type: "response-start",
      id: "chatcmpl-CpXa0TextStreamOpenAI0001",
      model: "gpt-4o-mini-2024-07-18",
      serviceTier: "default",
      systemFingerprint: "fp_560af6e559",
    });
    expect(chunks.at(-1)).toEqual({
      type: "usage",
      usage: {
        promptTokens: 11,
        completionTokens: 9,
        totalTokens: 20,
        cachedTokens: 0,
        promptAudioTokens: 0,
        reasoningTokens: 0,
        completionAudioTokens: 0,
        acceptedPredictionTokens: 0,
        rejectedPredictionTokens: 0,
      },
    });
  });

  it("fails a stream that ends without finish_reason, after yielding what came", async () => {
    const { chunks } = await expectFailure(fixture("truncated.sse"), "bad_upstream_response");
    expect(textOf(chunks)).toBe("Partial answer");
  });

  it("fails an empty stream", async () => {
    await expectFailure({ status: 200, headers: {}, body: "data: [DONE]\n\n" }, "bad_upstream_response");
  });

  it("fails an event of the wrong shape", async () => {
    await expectFailure(
      { status: 200, headers: {}, body: 'data: {"choices":{"index":0}}\n\n' },
      "bad_upstream_response",
    );
  });

  it("fails on an `event: error` even when its data has no error object", async () => {
    await expectFailure(
      { status: 200, headers: {}, body: 'event: error\ndata: {"message":"boom"}\n\n' },
      "upstream_error",
    );
  });

  it("maps an error event that carries an HTTP-like code (vLLM) by that code", async () => {
    const body =
      'data: {"error":{"object":"error","message":"context too long","type":"BadRequestError","code":400}}\n\n';
    const { chunks } = await expectFailure({ status: 200, headers: {}, body }, "invalid_request");
    expect(chunks).toEqual([]);
  });

  it("stops reading at [DONE] and ignores empty data and comments", async () => {
    const body = [
      ": OPENROUTER PROCESSING",
      "data:",
      'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}',
      "data: [DONE]",
      "data: this is never parsed",
    ].join("\n\n");
    const { chunks, error } = await replay(suite, { status: 200, headers: {}, body }, CONFORMANCE_REQUEST, {
      seed: 1,
    });
    expect(error).toBeUndefined();
    expect(textOf(chunks)).toBe("ok");
  });

  it("synthesises ids for calls that never get one, and passes refusals on as refusals", async () => {
    const events = [
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: "list_files" } }] } }] },
      { choices: [{ index: 0, delta: { refusal: "I can't do that." }, finish_reason: "stop" }] },
    ];
    const body = events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join("");
    const { chunks, error } = await replay(
      suite,
      { status: 200, headers: {}, body },
      CONFORMANCE_TOOL_REQUEST,
      { seed: 1 },
    );
    expect(error).toBeUndefined();
    expectWellFormedStream(chunks);
    expect(toolCallsOf(chunks)).toEqual([
      { index: 0, id: "call_test1", name: "list_files", arguments: "{}" },
    ]);
    expect(textOf(chunks)).toBe("");
    expect(chunks.filter((chunk) => chunk.type === "refusal-delta")).toEqual([
      { type: "refusal-delta", choice: 0, text: "I can't do that." },
    ]);
    // A vendor that says "stop" after calling tools: the calls decide, the raw value is kept.
    expect(finishesOf(chunks)).toEqual([{ choice: 0, reason: "tool_calls", rawReason: "stop" }]);
  });

  it("fails a tool call that never gets a name", async () => {
    const body =
      'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1"}]},"finish_reason":"tool_calls"}]}\n\n';
    await expectFailure(
      { status: 200, headers: {}, body },
      "bad_upstream_response",
      CONFORMANCE_TOOL_REQUEST,
    );
  });

  it("keeps n>1 choices apart", async () => {
    const events = [0, 1].flatMap((index) => [
      { id: "c", choices: [{ index, delta: { role: "assistant", content: `choice ${index}` } }] },
      { id: "c", choices: [{ index, delta: {}, finish_reason: index === 0 ? "stop" : "length" }] },
    ]);
    const body = `${events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join("")}data: [DONE]\n\n`;
    const { chunks, error } = await replay(
      suite,
      { status: 200, headers: {}, body },
      { ...CONFORMANCE_REQUEST, n: 2 },
      { seed: 1 },
    );
    expect(error).toBeUndefined();
    expectWellFormedStream(chunks);
    expect([textOf(chunks, "text-delta", 0), textOf(chunks, "text-delta", 1)]).toEqual([
      "choice 0",
      "choice 1",
    ]);
    expect(finishesOf(chunks).map((finish) => finish.reason)).toEqual(["stop", "length"]);
  });
});

describe("openai-compatible JSON answers to stream requests", () => {
  it("converts a chat.completion body (with leading blank lines) into the chunks a stream would give", async () => {
    const { chunks, error } = await replay(
      suite,
      jsonRecording("openai-compatible/completion.json", 200),
      CONFORMANCE_TOOL_REQUEST,
      {
        seed: 4,
      },
    );
    expect(error).toBeUndefined();
    expectWellFormedStream(chunks);
    expect(chunks[0]).toEqual({
      type: "response-start",
      id: "chatcmpl-123",
      model: "llama3.1:8b",
      systemFingerprint: "fp_ollama",
    });
    expect(textOf(chunks)).toBe("Checking the weather.");
    expect(toolCallsOf(chunks)).toEqual([
      { index: 0, id: "call_test1", name: "get_weather", arguments: '{"city":"Boston"}' },
    ]);
    expect(finishesOf(chunks)).toEqual([{ choice: 0, reason: "tool_calls", rawReason: "tool_calls" }]);
    expect(lastUsage(chunks)).toEqual({ promptTokens: 85, completionTokens: 19, totalTokens: 104 });
  });

  it("throws the mapped error for a 200 JSON error envelope", async () => {
    const body = JSON.stringify({ error: { message: "Rate limit", type: "rate_limit_error", code: null } });
    await expectFailure(
      { status: 200, headers: { "content-type": "application/json" }, body },
      "rate_limited",
    );
  });

  it("fails invalid JSON", async () => {
    await expectFailure(
      { status: 200, headers: { "content-type": "application/json" }, body: "{" },
      "bad_upstream_response",
    );
  });
});
