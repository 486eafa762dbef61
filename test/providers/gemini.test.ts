import { describe, expect, it } from "vitest";
import { ProxyError } from "../../src/core/errors.ts";
import type { ChatRequest } from "../../src/core/types.ts";
import { createGeminiAdapter } from "../../src/providers/gemini/adapter.ts";
import { mapGeminiFinishReason } from "../../src/providers/gemini/finish-reason.ts";
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

const API_KEY = "AIzaSyTest-gemini-key-0123456789abcdefg";
const UPSTREAM_MODEL = "gemini-2.5-flash";

const config = createTestProviderConfig({
  name: "gemini",
  type: "gemini",
  baseUrl: "https://gemini.test/v1beta",
  apiKeyEnv: "GEMINI_API_KEY",
});

const suite = {
  name: "gemini",
  makeAdapter: () => createGeminiAdapter(config, API_KEY),
  upstreamModel: UPSTREAM_MODEL,
  apiKey: API_KEY,
};

runAdapterConformance({
  ...suite,
  skip: [
    {
      case: "fidelity",
      reason:
        "Gemini's logprobsResult and grounding citations are not translated; its cached and thinking usage is checked by the usage case, its candidates by the two-candidates tests",
    },
  ],
  fixtures: {
    text: { recording: sseRecording("gemini/text.sse"), expectedText: "Hello! How can I help you today?" },
    // Gemini sends each functionCall whole (args as an object, never fragments), so "many fragments" cannot
    // happen; the fixture instead spreads the two calls over two events, with nested args, escapes and non-ASCII.
    parallelToolCalls: {
      recording: sseRecording("gemini/parallel-tool-calls.sse"),
      expectedCalls: [
        {
          id: "calltest1",
          name: "get_weather",
          arguments:
            '{"city":"Boston, MA","options":{"units":"celsius","days":[1,2],"note":"say \\"hi\\" é"}}',
        },
        { id: "calltest2", name: "get_time", arguments: '{"city":"Tokyo"}' },
      ],
    },
    noArgumentTool: { recording: sseRecording("gemini/no-argument-tool.sse"), expectedName: "list_files" },
    usage: {
      recording: sseRecording("gemini/usage-thoughts-cache.sse"),
      expectedUsage: {
        promptTokens: 2150,
        completionTokens: 75,
        totalTokens: 2225,
        cachedTokens: 2048,
        reasoningTokens: 64,
      },
    },
    finishReasons: [
      {
        label: "STOP",
        recording: sseRecording("gemini/text.sse"),
        expectedReason: "stop",
        expectedRawReason: "STOP",
      },
      {
        label: "MAX_TOKENS",
        recording: sseRecording("gemini/max-tokens.sse"),
        expectedReason: "length",
        expectedRawReason: "MAX_TOKENS",
      },
      {
        label: "STOP after function calls",
        recording: sseRecording("gemini/parallel-tool-calls.sse"),
        request: CONFORMANCE_TOOL_REQUEST,
        expectedReason: "tool_calls",
        expectedRawReason: "STOP",
      },
      {
        label: "SAFETY",
        recording: sseRecording("gemini/safety.sse"),
        expectedReason: "content_filter",
        expectedRawReason: "SAFETY",
      },
      {
        label: "RECITATION",
        recording: sseRecording("gemini/recitation.sse"),
        expectedReason: "content_filter",
        expectedRawReason: "RECITATION",
      },
      {
        label: "prompt blocked (promptFeedback.blockReason, no candidates)",
        recording: sseRecording("gemini/prompt-blocked.sse"),
        expectedReason: "content_filter",
        expectedRawReason: "PROHIBITED_CONTENT",
      },
      {
        label: "MALFORMED_FUNCTION_CALL",
        recording: sseRecording("gemini/malformed-function-call.sse"),
        expectedReason: "other",
        expectedRawReason: "MALFORMED_FUNCTION_CALL",
      },
    ],
    reasoning: {
      recording: sseRecording("gemini/thoughts.sse"),
      expectedReasoning:
        "**Counting letters**\n\nI need to count the r's in strawberry. s-t-r-a-w-b-e-r-r-y: three.",
      expectedText: 'There are **3** "r"s in strawberry.',
    },
    unicodeSplit: {
      recording: sseRecording("gemini/unicode.sse"),
      expectedText: "你好，世界！🌍👋🏽 こんにちは — 𠜎 café 👩‍👩‍👧",
    },
    errors: [
      {
        recording: jsonRecording("gemini/error-400-api-key.json", 400),
        expectedKind: "authentication",
        expectedRetryable: false,
        expectedCode: "invalid_api_key",
      },
      { recording: jsonRecording("gemini/error-400.json", 400), expectedKind: "invalid_request" },
      { recording: jsonRecording("gemini/error-401.json", 401), expectedKind: "authentication" },
      { recording: jsonRecording("gemini/error-403.json", 403), expectedKind: "permission_denied" },
      { recording: jsonRecording("gemini/error-404.json", 404), expectedKind: "upstream_not_found" },
      {
        recording: jsonRecording("gemini/error-429.json", 429),
        expectedKind: "rate_limited",
        expectedRetryAfterMs: 13_000,
        expectedRetryable: true,
      },
      {
        recording: jsonRecording("gemini/error-429-daily.json", 429),
        expectedKind: "quota_exceeded",
        expectedRetryable: false,
        expectedCode: "insufficient_quota",
      },
      { recording: jsonRecording("gemini/error-500.json", 500), expectedKind: "upstream_error" },
      {
        recording: {
          status: 502,
          headers: { "content-type": "text/html" },
          body: readFixture("gemini/error-502.html"),
        },
        expectedKind: "upstream_error",
      },
      {
        recording: jsonRecording("gemini/error-503.json", 503),
        expectedKind: "overloaded",
        expectedRetryable: true,
      },
      {
        recording: jsonRecording("gemini/error-504.json", 504),
        expectedKind: "timeout",
        expectedRetryable: true,
      },
    ],
    malformedEvent: { recording: sseRecording("gemini/malformed.sse"), expectedTextBefore: "Partial answer" },
    midStreamError: {
      recording: sseRecording("gemini/mid-stream-error.sse"),
      expectedKind: "overloaded",
      expectedTextBefore: "Let me think about",
    },
    abort: { recording: sseRecording("gemini/text.sse") },
  },
});

function request(fields: Partial<ChatRequest> = {}): ChatRequest {
  return { ...CONFORMANCE_REQUEST, ...fields };
}

async function run(recording: Recording, chatRequest: ChatRequest = CONFORMANCE_REQUEST) {
  return replay(suite, recording, chatRequest, { seed: 7 });
}

describe("gemini stream specifics", () => {
  it("starts with the upstream responseId and modelVersion", async () => {
    const { chunks, error } = await run(sseRecording("gemini/text.sse"));
    expect(error).toBeUndefined();
    expect(chunks[0]).toEqual({
      type: "response-start",
      id: "bH6LadKVC7SZ28oPr9yJoQs",
      model: "gemini-2.5-flash",
    });
  });

  it("keeps only the last cumulative usageMetadata, emitted once after the finish", async () => {
    const { chunks } = await run(sseRecording("gemini/text.sse"));
    expect(chunks.filter((chunk) => chunk.type === "usage")).toHaveLength(1);
    expect(chunks.at(-1)).toEqual({
      type: "usage",
      usage: { promptTokens: 5, completionTokens: 9, totalTokens: 14 },
    });
  });

  it("adds thought tokens into completion tokens and reports them as reasoning tokens", async () => {
    const { chunks } = await run(sseRecording("gemini/thoughts.sse"));
    expect(lastUsage(chunks)).toEqual({
      promptTokens: 9,
      completionTokens: 199,
      totalTokens: 208,
      reasoningTokens: 185,
    });
  });

  it("a stream cut before any finishReason fails with bad_upstream_response after the text it had", async () => {
    const { chunks, error } = await run(sseRecording("gemini/truncated.sse"));
    expect(error).toBeInstanceOf(ProxyError);
    expect((error as ProxyError).kind).toBe("bad_upstream_response");
    expect(textOf(chunks)).toBe("The answer is forty");
    expect(finishesOf(chunks)).toEqual([]);
  });

  it("an empty 200 body is a bad_upstream_response", async () => {
    const { chunks, error } = await run({
      status: 200,
      headers: { "content-type": "text/event-stream" },
      body: "",
    });
    expect(chunks).toEqual([]);
    expect((error as ProxyError).kind).toBe("bad_upstream_response");
  });

  it("a blocked prompt finishes every requested choice with content_filter and still reports usage", async () => {
    const { chunks, error } = await run(sseRecording("gemini/prompt-blocked.sse"), request({ n: 2 }));
    expect(error).toBeUndefined();
    expect(finishesOf(chunks)).toEqual([
      { choice: 0, reason: "content_filter", rawReason: "PROHIBITED_CONTENT" },
      { choice: 1, reason: "content_filter", rawReason: "PROHIBITED_CONTENT" },
    ]);
    expect(lastUsage(chunks)).toEqual({ promptTokens: 9, completionTokens: 0, totalTokens: 9 });
  });

  it("keeps an upstream function-call id and turns empty args into {}", async () => {
    const { chunks, error } = await run(sseRecording("gemini/empty-args-tool.sse"), CONFORMANCE_TOOL_REQUEST);
    expect(error).toBeUndefined();
    expectWellFormedStream(chunks);
    expect(toolCallsOf(chunks)).toEqual([{ index: 0, id: "fc-7a1b2c", name: "list_files", arguments: "{}" }]);
    expect(finishesOf(chunks)).toEqual([{ choice: 0, reason: "tool_calls", rawReason: "STOP" }]);
  });

  it("tracks candidates separately: text, tool indices per choice and each finish", async () => {
    const { chunks, error } = await run(sseRecording("gemini/two-candidates.sse"), request({ n: 2 }));
    expect(error).toBeUndefined();
    expectWellFormedStream(chunks);
    expect(textOf(chunks, "text-delta", 0)).toBe("Red and blue.");
    expect(toolCallsOf(chunks, 0)).toEqual([]);
    expect(toolCallsOf(chunks, 1)).toEqual([
      { index: 0, id: "calltest1", name: "get_time", arguments: '{"city":"Oslo"}' },
      { index: 1, id: "calltest2", name: "get_weather", arguments: '{"city":"Lima"}' },
    ]);
    expect(finishesOf(chunks)).toEqual([
      { choice: 1, reason: "tool_calls", rawReason: "STOP" },
      { choice: 0, reason: "stop", rawReason: "STOP" },
    ]);
  });

  it("reads an error envelope wrapped in an array, and scrubs a key a message might echo", async () => {
    const wrapped = await run(jsonRecording("gemini/error-400-array.json", 400));
    expect((wrapped.error as ProxyError).kind).toBe("invalid_request");
    expect((wrapped.error as ProxyError).message).toContain("thought_signature");
    const body = JSON.stringify({
      error: {
        code: 400,
        message: `API key ${API_KEY} and AIzaSyOther-key-abcdefghijklmnopqrstuv0 are bad`,
        status: "INVALID_ARGUMENT",
      },
    });
    const echoed = await run({ status: 400, headers: { "content-type": "application/json" }, body });
    const message = (echoed.error as ProxyError).message;
    expect(message).not.toContain(API_KEY);
    expect(message).not.toContain("AIzaSyOther");
    expect(message).toContain("[redacted]");
  });
});

describe("gemini error specifics", () => {
  function errorBody(code: number, status: string, message: string): string {
    return JSON.stringify({ error: { code, message, status } });
  }

  it("treats FAILED_PRECONDITION (free tier unavailable in the region) as permission_denied", async () => {
    const body = errorBody(400, "FAILED_PRECONDITION", "User location is not supported for the API use.");
    const { error } = await run({ status: 400, headers: { "content-type": "application/json" }, body });
    expect(error).toMatchObject({ kind: "permission_denied", upstreamStatus: 400, retryable: false });
  });

  it("honours a retry-after header on a 503 and drops a daily quota's retry delay", async () => {
    const overloaded = await run({
      status: 503,
      headers: { "content-type": "application/json", "retry-after": "7" },
      body: errorBody(503, "UNAVAILABLE", "The model is overloaded."),
    });
    expect(overloaded.error).toMatchObject({ kind: "overloaded", retryAfterMs: 7000 });
    const daily = await run(jsonRecording("gemini/error-429-daily.json", 429));
    expect(daily.error).toMatchObject({ kind: "quota_exceeded", retryAfterMs: undefined });
  });

  it("maps an error event without an HTTP error code by its google.rpc status", async () => {
    const body = `data: {"candidates":[{"content":{"parts":[{"text":"Hi"}]}}]}\r\n\r\ndata: ${errorBody(0, "INTERNAL", "boom").replace('"code":0,', "")}\r\n\r\n`;
    const { chunks, error } = await run({
      status: 200,
      headers: { "content-type": "text/event-stream" },
      body,
    });
    expect(textOf(chunks)).toBe("Hi");
    expect(error).toMatchObject({ kind: "upstream_error", message: "Gemini error INTERNAL: boom" });
  });
});

describe("mapGeminiFinishReason", () => {
  it.each([
    ["STOP", false, "stop"],
    ["STOP", true, "tool_calls"],
    ["OTHER", false, "stop"],
    ["MAX_TOKENS", true, "length"],
    ["SAFETY", true, "content_filter"],
    ["PROHIBITED_CONTENT", false, "content_filter"],
    ["BLOCKLIST", false, "content_filter"],
    ["SPII", false, "content_filter"],
    ["RECITATION", false, "content_filter"],
    ["IMAGE_SAFETY", false, "content_filter"],
    ["MALFORMED_FUNCTION_CALL", false, "other"],
    ["UNEXPECTED_TOOL_CALL", true, "other"],
    ["SOMETHING_NEW", false, "other"],
  ] as const)("%s (function calls: %s) → %s", (raw, hadToolCalls, expected) => {
    expect(mapGeminiFinishReason(raw, hadToolCalls)).toBe(expected);
  });
});
