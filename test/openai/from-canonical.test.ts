/**
 * The HTTP edge writes what the vendor said: logprobs, refusals, annotations, the fingerprint, the tier and every
 * usage detail, in OpenAI's JSON, on SSE chunks and whole answers; chunks without them keep today's bytes.
 */
import { describe, expect, it } from "vitest";
import type { ChatChunk, ChatResult, ChoiceLogprobs } from "../../src/core/types.ts";
import { createChunkEncoder, toOpenAICompletion, toOpenAIUsage } from "../../src/openai/from-canonical.ts";

const STREAM = {
  id: "chatcmpl-1",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choiceCount: 1,
  served: { provider: "p", upstreamModel: "u", attempts: 1 },
  chunks: [][Symbol.iterator]() as never,
};

const LOGPROBS: ChoiceLogprobs = {
  content: [
    {
      token: "Hello",
      logprob: -0.31725305,
      bytes: [72, 101, 108, 108, 111],
      topLogprobs: [
        { token: "Hello", logprob: -0.31725305, bytes: [72, 101, 108, 108, 111] },
        { token: "Hi", logprob: -1.3190403, bytes: null },
      ],
    },
  ],
  refusal: null,
};

const WIRE_LOGPROBS = {
  content: [
    {
      token: "Hello",
      logprob: -0.31725305,
      bytes: [72, 101, 108, 108, 111],
      top_logprobs: [
        { token: "Hello", logprob: -0.31725305, bytes: [72, 101, 108, 108, 111] },
        { token: "Hi", logprob: -1.3190403, bytes: null },
      ],
    },
  ],
  refusal: null,
};

const CITATION = {
  type: "url_citation",
  url: "https://example.test/boardwalk",
  title: "Boardwalk",
  startIndex: 4,
  endIndex: 13,
} as const;
const WIRE_CITATION = {
  type: "url_citation",
  url_citation: { end_index: 13, start_index: 4, title: "Boardwalk", url: "https://example.test/boardwalk" },
};

function choiceOf(json: string | undefined): Record<string, unknown> {
  return (JSON.parse(json ?? "null") as { choices: Record<string, unknown>[] }).choices[0] ?? {};
}

describe("SSE chunk encoder", () => {
  it("keeps today's bytes for a chunk without the new fields", () => {
    const encoder = createChunkEncoder(STREAM, false);
    encoder.encode({ type: "text-delta", choice: 0, text: "Hello" });
    expect(encoder.encode({ type: "text-delta", choice: 0, text: "Hi" })).toBe(
      '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}',
    );
  });

  it("puts each choice's role on its first chunk, whatever its kind, so a refusal's content stays null", () => {
    const encoder = createChunkEncoder({ ...STREAM, choiceCount: 4 }, false);
    expect(encoder.opening()).toBe("");
    const chunks: ChatChunk[] = [
      { type: "text-delta", choice: 0, text: "A" },
      { type: "refusal-delta", choice: 1, text: "No" },
      { type: "tool-call-start", choice: 2, index: 0, id: "call_1", name: "f" },
      { type: "finish", choice: 3, reason: "length", rawReason: "length" },
      { type: "text-delta", choice: 0, text: "B" },
      { type: "finish", choice: 1, reason: "stop", rawReason: "stop" },
    ];
    expect(chunks.map((chunk) => choiceOf(encoder.encode(chunk)).delta)).toEqual([
      { role: "assistant", content: "A" },
      { role: "assistant", refusal: "No" },
      {
        role: "assistant",
        tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }],
      },
      { role: "assistant", content: "" },
      { content: "B" },
      {},
    ]);
  });

  it("puts service_tier and system_fingerprint on every chunk, first and usage included", () => {
    const encoder = createChunkEncoder(
      { ...STREAM, systemFingerprint: "fp_44709d6fcb", serviceTier: "default" },
      true,
    );
    const head =
      '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_44709d6fcb","choices":';
    expect(encoder.encode({ type: "text-delta", choice: 0, text: "Hi" })?.startsWith(head)).toBe(true);
    expect(encoder.encode({ type: "text-delta", choice: 0, text: "!" })?.startsWith(head)).toBe(true);
    const usage = encoder.encode({
      type: "usage",
      usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
    });
    expect(usage?.startsWith(head)).toBe(true);
  });

  it("sends logprobs with their text, and a logprobs-only piece without a content key", () => {
    const encoder = createChunkEncoder(STREAM, false);
    expect(
      choiceOf(encoder.encode({ type: "text-delta", choice: 0, text: "Hello", logprobs: LOGPROBS })),
    ).toEqual({
      index: 0,
      delta: { role: "assistant", content: "Hello" },
      logprobs: WIRE_LOGPROBS,
      finish_reason: null,
    });
    expect(
      choiceOf(
        encoder.encode({ type: "text-delta", choice: 0, text: "", logprobs: { content: [], refusal: null } }),
      ),
    ).toEqual({ index: 0, delta: {}, logprobs: { content: [], refusal: null }, finish_reason: null });
  });

  it("sends refusal deltas with their logprobs, and annotation deltas", () => {
    const encoder = createChunkEncoder(STREAM, false);
    encoder.encode({ type: "reasoning-delta", choice: 0, text: "hmm" });
    const refusal = encoder.encode({
      type: "refusal-delta",
      choice: 0,
      text: "I can't",
      logprobs: { refusal: [{ token: "I", logprob: -0.1, bytes: [73], topLogprobs: [] }] },
    });
    expect(choiceOf(refusal)).toEqual({
      index: 0,
      delta: { refusal: "I can't" },
      logprobs: { refusal: [{ token: "I", logprob: -0.1, bytes: [73], top_logprobs: [] }] },
      finish_reason: null,
    });
    expect(
      choiceOf(encoder.encode({ type: "annotation-delta", choice: 0, annotations: [CITATION] })),
    ).toEqual({
      index: 0,
      delta: { annotations: [WIRE_CITATION] },
      logprobs: null,
      finish_reason: null,
    });
  });
});

describe("toOpenAIUsage", () => {
  it("writes every detail the vendor gave, and no details object without any", () => {
    expect(
      toOpenAIUsage({
        promptTokens: 1117,
        completionTokens: 46,
        totalTokens: 1163,
        cachedTokens: 0,
        promptAudioTokens: 0,
        cacheWriteTokens: 5,
        reasoningTokens: 0,
        completionAudioTokens: 0,
        acceptedPredictionTokens: 1,
        rejectedPredictionTokens: 2,
      }),
    ).toEqual({
      prompt_tokens: 1117,
      completion_tokens: 46,
      total_tokens: 1163,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0, cache_write_tokens: 5 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 1,
        rejected_prediction_tokens: 2,
      },
    });
    expect(toOpenAIUsage({ promptTokens: 1, completionTokens: 2, totalTokens: 3 })).toEqual({
      prompt_tokens: 1,
      completion_tokens: 2,
      total_tokens: 3,
    });
  });
});

describe("toOpenAICompletion", () => {
  it("writes refusal, annotations, logprobs, service_tier and system_fingerprint", () => {
    const result: ChatResult = {
      id: "chatcmpl-1",
      model: "gpt-4o",
      created: 1,
      systemFingerprint: "fp_fc9f1d7035",
      serviceTier: "default",
      choices: [
        {
          index: 0,
          content: "See the boardwalk.",
          toolCalls: [],
          annotations: [CITATION],
          logprobs: LOGPROBS,
          finishReason: "stop",
          rawFinishReason: "stop",
        },
        {
          index: 1,
          content: null,
          refusal: "No.",
          toolCalls: [],
          finishReason: "stop",
          rawFinishReason: "stop",
        },
      ],
    };
    expect(toOpenAICompletion(result)).toEqual({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-4o",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "See the boardwalk.",
            refusal: null,
            annotations: [WIRE_CITATION],
          },
          logprobs: WIRE_LOGPROBS,
          finish_reason: "stop",
        },
        {
          index: 1,
          message: { role: "assistant", content: null, refusal: "No." },
          logprobs: null,
          finish_reason: "stop",
        },
      ],
      service_tier: "default",
      system_fingerprint: "fp_fc9f1d7035",
    });
  });

  it("writes chunks for every choice as they come (the stream's order is the vendor's)", () => {
    const encoder = createChunkEncoder({ ...STREAM, choiceCount: 2 }, false);
    const chunks: ChatChunk[] = [
      { type: "text-delta", choice: 1, text: "B" },
      { type: "text-delta", choice: 0, text: "A" },
    ];
    expect(chunks.map((chunk) => choiceOf(encoder.encode(chunk)).index)).toEqual([1, 0]);
  });
});
