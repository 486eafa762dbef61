import { describe, expect, it } from "vitest";
import { ProxyError } from "../../src/core/errors.ts";
import { createAnthropicAdapter } from "../../src/providers/anthropic/adapter.ts";
import {
  createTestProviderConfig,
  jsonRecording,
  type Recording,
  readFixture,
  sseRecording,
  TEST_NOW,
} from "../helpers/replay-transport.ts";
import {
  CONFORMANCE_REQUEST,
  expectWellFormedStream,
  finishesOf,
  lastUsage,
  replay,
  runAdapterConformance,
  textOf,
  toolCallsOf,
} from "./adapter-conformance.ts";

const API_KEY = "sk-ant-api03-conformance-key";
const UPSTREAM_MODEL = "claude-sonnet-4-5";

const config = createTestProviderConfig({
  name: "anthropic",
  type: "anthropic",
  baseUrl: "https://api.anthropic.test/v1",
  apiKeyEnv: "ANTHROPIC_API_KEY",
});

const suite = { makeAdapter: () => createAnthropicAdapter(config, API_KEY), upstreamModel: UPSTREAM_MODEL };

function finishCase(label: string, file: string, expectedReason: string, expectedRawReason: string) {
  return {
    label,
    recording: sseRecording(`anthropic/${file}`),
    expectedReason: expectedReason as "stop" | "length" | "tool_calls" | "content_filter" | "other",
    expectedRawReason,
  };
}

runAdapterConformance({
  name: "anthropic",
  ...suite,
  apiKey: API_KEY,
  skip: [
    {
      case: "fidelity",
      reason:
        "the Messages API has no logprobs, refusal text, annotations in OpenAI's form, system_fingerprint or n; its cache and thinking usage is checked by the usage case, its service tier below",
    },
  ],
  fixtures: {
    text: { recording: sseRecording("anthropic/text.sse"), expectedText: "Hello! How can I help you today?" },
    parallelToolCalls: {
      recording: sseRecording("anthropic/parallel-tool-calls.sse"),
      expectedCalls: [
        {
          id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
          name: "get_weather",
          arguments: '{"location": "Paris, France", "unit": "celsius"}',
        },
        {
          id: "toolu_01KvLc3mXqDQg9bVrj5Tz8Wn",
          name: "get_time",
          arguments: '{"timezone": "Europe/Paris", "note": "caf\\u00e9 \\"au lait\\" ☕"}',
        },
      ],
    },
    noArgumentTool: {
      recording: sseRecording("anthropic/no-argument-tool.sse"),
      expectedName: "updateIssueList",
    },
    usage: {
      recording: sseRecording("anthropic/usage-cache.sse"),
      // 61 uncached (message_delta's later value, not message_start's 43) + 1200 cache writes + 2048 cache reads.
      expectedUsage: {
        promptTokens: 3309,
        completionTokens: 9,
        totalTokens: 3318,
        cachedTokens: 2048,
        cacheWriteTokens: 1200,
      },
    },
    finishReasons: [
      finishCase("end_turn", "stop-end-turn.sse", "stop", "end_turn"),
      finishCase("stop_sequence", "stop-stop-sequence.sse", "stop", "stop_sequence"),
      finishCase("max_tokens", "stop-max-tokens.sse", "length", "max_tokens"),
      finishCase("tool_use", "stop-tool-use.sse", "tool_calls", "tool_use"),
      finishCase("refusal", "stop-refusal.sse", "content_filter", "refusal"),
      finishCase("pause_turn", "stop-pause-turn.sse", "stop", "pause_turn"),
      finishCase(
        "model_context_window_exceeded",
        "stop-context-window.sse",
        "length",
        "model_context_window_exceeded",
      ),
      finishCase("an unknown stop reason", "stop-unknown.sse", "other", "brand_new_reason"),
    ],
    reasoning: {
      recording: sseRecording("anthropic/thinking.sse"),
      expectedReasoning: "The user asks for 27 * 453. 27 * 453 = 12231.",
      expectedText: "27 * 453 = 12,231.",
    },
    unicodeSplit: {
      recording: sseRecording("anthropic/unicode.sse"),
      expectedText: "你好，世界！👋🌍 日本語のテキスト — café 😀👨‍👩‍👧",
    },
    errors: [
      { recording: jsonRecording("anthropic/error-400.json", 400), expectedKind: "invalid_request" },
      { recording: jsonRecording("anthropic/error-401.json", 401), expectedKind: "authentication" },
      { recording: jsonRecording("anthropic/error-402.json", 402), expectedKind: "quota_exceeded" },
      { recording: jsonRecording("anthropic/error-403.json", 403), expectedKind: "permission_denied" },
      { recording: jsonRecording("anthropic/error-404.json", 404), expectedKind: "upstream_not_found" },
      { recording: htmlRecording("anthropic/error-413.html", 413), expectedKind: "request_too_large" },
      {
        recording: jsonRecording("anthropic/error-429.json", 429, { headers: { "retry-after": "7" } }),
        expectedKind: "rate_limited",
        expectedRetryAfterMs: 7000,
        expectedRetryable: true,
      },
      {
        recording: jsonRecording("anthropic/error-500.json", 500),
        expectedKind: "upstream_error",
        expectedRetryable: true,
      },
      { recording: htmlRecording("anthropic/error-503.html", 503), expectedKind: "overloaded" },
      {
        recording: jsonRecording("anthropic/error-529.json", 529, { headers: { "retry-after": "2" } }),
        expectedKind: "overloaded",
        expectedRetryable: true,
        expectedRetryAfterMs: 2000,
      },
    ],
    malformedEvent: { recording: sseRecording("anthropic/malformed.sse"), expectedTextBefore: "Before " },
    midStreamError: {
      recording: sseRecording("anthropic/mid-stream-overloaded.sse"),
      expectedKind: "overloaded",
      expectedTextBefore: "Partial answer",
    },
    abort: { recording: sseRecording("anthropic/parallel-tool-calls.sse") },
  },
});

function htmlRecording(file: string, status: number): Recording {
  return { status, headers: { "content-type": "text/html" }, body: readFixture(file) };
}

/** A recording from inline events: `[eventName | undefined, data]` (no name = a data-only event). */
function inlineSse(events: readonly (readonly [string | undefined, unknown])[]): Recording {
  const text = events
    .map(([name, data]) => `${name === undefined ? "" : `event: ${name}\n`}data: ${JSON.stringify(data)}\n\n`)
    .join("");
  return { status: 200, headers: { "content-type": "text/event-stream" }, body: text };
}

const MESSAGE_START = [
  "message_start",
  { type: "message_start", message: { id: "msg_1", model: "claude-x" } },
] as const;
const MESSAGE_STOP = ["message_stop", { type: "message_stop" }] as const;
function messageDelta(stopReason: string, usage: object = { output_tokens: 3 }) {
  return ["message_delta", { type: "message_delta", delta: { stop_reason: stopReason }, usage }] as const;
}

async function run(recording: Recording) {
  return replay(suite, recording, CONFORMANCE_REQUEST, { seed: 9 });
}

describe("anthropic stream specifics", () => {
  it("starts the response with Anthropic's message id, model and service tier", async () => {
    const { chunks, error } = await run(sseRecording("anthropic/text.sse"));
    expect(error).toBeUndefined();
    expect(chunks[0]).toEqual({
      type: "response-start",
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      model: "claude-sonnet-4-5-20250929",
      serviceTier: "standard",
    });
    expect(lastUsage(chunks)).toEqual({ promptTokens: 25, completionTokens: 12, totalTokens: 37 });
  });

  it("counts tool indices over tool_use blocks only and ends each call at its content_block_stop", async () => {
    const { chunks } = await run(sseRecording("anthropic/parallel-tool-calls.sse"));
    const lifecycle = chunks.flatMap((chunk) =>
      chunk.type === "tool-call-start" || chunk.type === "tool-call-end"
        ? [`${chunk.type}:${chunk.index}`]
        : [],
    );
    expect(lifecycle).toEqual([
      "tool-call-start:0",
      "tool-call-end:0",
      "tool-call-start:1",
      "tool-call-end:1",
    ]);
    expect(textOf(chunks)).toBe("I'll check the weather and the time in Paris.");
    const empties = chunks.filter((chunk) => chunk.type === "tool-call-delta" && chunk.arguments === "");
    expect(empties).toEqual([]);
  });

  it("reports thinking tokens as reasoning tokens and ignores signature deltas", async () => {
    const { chunks } = await run(sseRecording("anthropic/thinking.sse"));
    expect(lastUsage(chunks)).toEqual({
      promptTokens: 48,
      completionTokens: 156,
      totalTokens: 204,
      reasoningTokens: 120,
    });
    expect(textOf(chunks, "reasoning-delta")).not.toContain("EqQB");
  });

  it("marks a mid-stream overloaded_error retryable, naming its type in the message", async () => {
    const { error } = await run(sseRecording("anthropic/mid-stream-overloaded.sse"));
    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({
      kind: "overloaded",
      retryable: true,
      code: undefined,
      message: expect.stringContaining("overloaded_error"),
    });
  });

  it("maps an error event of an unknown type to upstream_error", async () => {
    const recording = inlineSse([
      MESSAGE_START,
      ["error", { type: "error", error: { type: "novel_error", message: "?" } }],
    ]);
    const { error } = await run(recording);
    expect(error).toMatchObject({
      kind: "upstream_error",
      code: undefined,
      message: expect.stringContaining("novel_error"),
    });
  });

  it("fails with bad_upstream_response when the stream ends before message_stop", async () => {
    const { chunks, error } = await run(sseRecording("anthropic/truncated.sse"));
    expect(error).toMatchObject({ kind: "bad_upstream_response" });
    expect(textOf(chunks)).toBe("Cut off");
    expectWellFormedStream(chunks, { complete: false });
  });

  it("fails when message_stop comes without a stop reason, or content comes before message_start", async () => {
    const noDelta = await run(inlineSse([MESSAGE_START, MESSAGE_STOP]));
    expect(noDelta.error).toMatchObject({ kind: "bad_upstream_response" });
    const early = await run(
      inlineSse([["content_block_start", { index: 0, content_block: { type: "text" } }], MESSAGE_START]),
    );
    expect(early.error).toMatchObject({ kind: "bad_upstream_response" });
    expect(early.chunks).toEqual([]);
  });

  it("skips unknown events, unknown block types and citation deltas", async () => {
    const { chunks, error } = await run(sseRecording("anthropic/unknown-events.sse"));
    expect(error).toBeUndefined();
    expectWellFormedStream(chunks);
    expect(textOf(chunks)).toBe("Still fine.");
    expect(finishesOf(chunks)).toEqual([{ choice: 0, reason: "stop", rawReason: "end_turn" }]);
  });

  it("reads data-only events by their type and starts only one response on a repeated message_start", async () => {
    const recording = inlineSse([
      [
        undefined,
        { type: "message_start", message: { id: "msg_1", model: "claude-x", usage: { input_tokens: 5 } } },
      ],
      [undefined, { type: "ping" }],
      MESSAGE_START,
      [undefined, { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }],
      [undefined, { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "ok" } }],
      [undefined, { type: "content_block_stop", index: 0 }],
      [undefined, { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 1 } }],
      [undefined, { type: "message_stop" }],
    ]);
    const { chunks, error } = await run(recording);
    expect(error).toBeUndefined();
    expectWellFormedStream(chunks);
    expect(textOf(chunks)).toBe("ok");
    expect(lastUsage(chunks)).toEqual({ promptTokens: 5, completionTokens: 1, totalTokens: 6 });
  });

  it("sends a tool_use start's non-empty input as the arguments when no delta follows", async () => {
    const recording = inlineSse([
      MESSAGE_START,
      [
        "content_block_start",
        { index: 0, content_block: { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } } },
      ],
      ["content_block_stop", { index: 0 }],
      messageDelta("tool_use"),
      MESSAGE_STOP,
    ]);
    const { chunks } = await run(recording);
    expect(toolCallsOf(chunks)).toEqual([{ index: 0, id: "toolu_1", name: "f", arguments: '{"a":1}' }]);
  });

  it("rejects an input_json_delta on a text block, a tool_use start without an id and an unclosed tool block", async () => {
    const wrongBlock = await run(
      inlineSse([
        MESSAGE_START,
        ["content_block_start", { index: 0, content_block: { type: "text", text: "" } }],
        ["content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: "{}" } }],
      ]),
    );
    expect(wrongBlock.error).toMatchObject({ kind: "bad_upstream_response" });
    const noId = await run(
      inlineSse([
        MESSAGE_START,
        ["content_block_start", { index: 0, content_block: { type: "tool_use", name: "f" } }],
      ]),
    );
    expect(noId.error).toMatchObject({ kind: "bad_upstream_response" });
    const unclosed = await run(
      inlineSse([
        MESSAGE_START,
        [
          "content_block_start",
          { index: 0, content_block: { type: "tool_use", id: "toolu_1", name: "f", input: {} } },
        ],
        ["content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: '{"a":' } }],
        messageDelta("tool_use"),
        MESSAGE_STOP,
      ]),
    );
    expect(unclosed.error).toMatchObject({ kind: "bad_upstream_response" });
    expect(finishesOf(unclosed.chunks)).toEqual([]);
  });
});

describe("anthropic HTTP errors", () => {
  it("scrubs the key should an upstream message echo it, and keeps Anthropic's error type in the message only", async () => {
    const body = JSON.stringify({
      type: "error",
      error: { type: "authentication_error", message: `bad key ${API_KEY}` },
    });
    const { error } = await run({ status: 401, headers: { "content-type": "application/json" }, body });
    expect(error).toBeInstanceOf(ProxyError);
    const proxyError = error as ProxyError;
    expect(proxyError.message).not.toContain(API_KEY);
    expect(proxyError.message).toContain("[redacted]");
    expect(proxyError).toMatchObject({
      kind: "authentication",
      code: undefined,
      retryable: false,
    });
  });

  it("honours an HTTP-date retry-after and prefers the body's error type over the status", async () => {
    const retryAt = new Date(TEST_NOW + 3000).toUTCString();
    const body = JSON.stringify({
      type: "error",
      error: { type: "overloaded_error", message: "Overloaded" },
    });
    const { error } = await run({ status: 500, headers: { "retry-after": retryAt }, body });
    expect(error).toMatchObject({
      kind: "overloaded",
      upstreamStatus: 500,
      retryAfterMs: 3000,
      retryable: true,
    });
  });

  it("marks billing errors as not retryable", async () => {
    const { error } = await run(jsonRecording("anthropic/error-402.json", 402));
    expect(error).toMatchObject({ kind: "quota_exceeded", retryable: false, code: undefined });
  });
});
