/**
 * The non-streaming answer is the stream folded: refusals, annotations and logprobs fold as OpenAI's SDK folds a
 * stream (logprob lists appended, the first object's keys kept), and content is null beside a refusal.
 */
import { describe, expect, it } from "vitest";
import { aggregateStream } from "../../src/core/aggregate.ts";
import type { ChatStream } from "../../src/core/chat-stream.ts";
import type { ChatChunk, ChatResult, TokenLogprob } from "../../src/core/types.ts";

async function* yieldAll(chunks: readonly ChatChunk[]): AsyncGenerator<ChatChunk> {
  yield* chunks;
}

function fold(chunks: readonly ChatChunk[], head: Partial<ChatStream> = {}): Promise<ChatResult> {
  return aggregateStream({
    id: "chatcmpl-1",
    created: 1,
    model: "m",
    choiceCount: 1,
    served: { provider: "p", upstreamModel: "u", attempts: 1 },
    chunks: yieldAll(chunks),
    ...head,
  });
}

const token = (text: string): TokenLogprob => ({ token: text, logprob: -0.5, bytes: [...Buffer.from(text)] });
const finish = (choice: number): ChatChunk => ({ type: "finish", choice, reason: "stop", rawReason: "stop" });

describe("aggregateStream", () => {
  it("answers a refusal with content null, the refusal joined and its logprobs appended", async () => {
    const result = await fold([
      { type: "text-delta", choice: 0, text: "", logprobs: { content: [], refusal: null } },
      {
        type: "refusal-delta",
        choice: 0,
        text: "I can't",
        logprobs: { content: null, refusal: [token("I")] },
      },
      {
        type: "refusal-delta",
        choice: 0,
        text: " help.",
        logprobs: { content: null, refusal: [token(" help")] },
      },
      finish(0),
    ]);
    expect(result.choices[0]).toMatchObject({
      content: null,
      refusal: "I can't help.",
      logprobs: { content: [], refusal: [token("I"), token(" help")] },
    });
  });

  it("keeps the first logprobs object's keys and appends later lists, content and annotations per choice", async () => {
    const url = {
      type: "url_citation",
      url: "https://a.test",
      title: "A",
      startIndex: 0,
      endIndex: 2,
    } as const;
    const result = await fold(
      [
        { type: "text-delta", choice: 1, text: "Hi", logprobs: { content: [token("Hi")] } },
        { type: "text-delta", choice: 0, text: "A" },
        { type: "text-delta", choice: 1, text: "!", logprobs: { content: [token("!")], refusal: null } },
        { type: "annotation-delta", choice: 1, annotations: [url] },
        { type: "annotation-delta", choice: 1, annotations: [{ ...url, title: "B" }] },
        finish(1),
        finish(0),
      ],
      { choiceCount: 2, systemFingerprint: "fp_1", serviceTier: "default" },
    );
    expect(result.choices[0]).toEqual({
      index: 0,
      content: "A",
      toolCalls: [],
      finishReason: "stop",
      rawFinishReason: "stop",
    });
    expect(result.choices[1]).toMatchObject({
      content: "Hi!",
      logprobs: { content: [token("Hi"), token("!")] },
      annotations: [url, { ...url, title: "B" }],
    });
    expect(result.choices[1]?.logprobs).not.toHaveProperty("refusal");
    expect(result).toMatchObject({ systemFingerprint: "fp_1", serviceTier: "default" });
  });

  it("keeps an empty annotation list and leaves out what the vendor never sent", async () => {
    const result = await fold([
      { type: "text-delta", choice: 0, text: "ok" },
      { type: "annotation-delta", choice: 0, annotations: [] },
      finish(0),
    ]);
    expect(result.choices[0]?.annotations).toEqual([]);
    expect(result.choices[0]).not.toHaveProperty("logprobs");
    expect(result.choices[0]).not.toHaveProperty("refusal");
    expect(result).not.toHaveProperty("systemFingerprint");
    expect(result).not.toHaveProperty("serviceTier");
  });
});
