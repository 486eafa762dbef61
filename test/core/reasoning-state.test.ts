import { describe, expect, it } from "vitest";
import { ReasoningStateBuilder, withOwnReasoningOnly } from "../../src/core/reasoning-state.ts";
import type { ChatChunk, ChatRequest } from "../../src/core/types.ts";
import { parseAnthropicStream } from "../../src/providers/anthropic/from-stream.ts";
import { convertGeminiStream } from "../../src/providers/gemini/from-stream.ts";
import type { SseEvent } from "../../src/providers/sse.ts";

async function* events(list: readonly object[], named: boolean): AsyncGenerator<SseEvent> {
  for (const data of list) {
    const type = (data as { type?: string }).type;
    yield { event: named ? type : undefined, data: JSON.stringify(data), id: undefined } as SseEvent;
  }
}

async function collect(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const out: ChatChunk[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

const ORIGIN = { provider: "claude-vendor", model: "claude-upstream" };

describe("reasoning state capture", () => {
  it("Anthropic: each thinking and redacted_thinking block, whole, once it stops", async () => {
    const chunks = await collect(
      parseAnthropicStream(
        events(
          [
            { type: "message_start", message: { id: "msg_1", model: "claude" } },
            {
              type: "content_block_start",
              index: 0,
              content_block: { type: "thinking", thinking: "", signature: "" },
            },
            {
              type: "content_block_delta",
              index: 0,
              delta: { type: "thinking_delta", thinking: "Step one, " },
            },
            {
              type: "content_block_delta",
              index: 0,
              delta: { type: "thinking_delta", thinking: "step two." },
            },
            {
              type: "content_block_delta",
              index: 0,
              delta: { type: "signature_delta", signature: "EqQBsig" },
            },
            { type: "content_block_stop", index: 0 },
            {
              type: "content_block_start",
              index: 1,
              content_block: { type: "redacted_thinking", data: "EmwKdata" },
            },
            { type: "content_block_stop", index: 1 },
            {
              type: "content_block_start",
              index: 2,
              content_block: { type: "tool_use", id: "toolu_1", name: "w", input: {} },
            },
            { type: "content_block_stop", index: 2 },
            { type: "message_delta", delta: { stop_reason: "tool_use" } },
            { type: "message_stop" },
          ],
          true,
        ),
      ),
    );
    const builder = new ReasoningStateBuilder();
    for (const chunk of chunks) builder.add(chunk);
    expect(builder.build(ORIGIN)).toEqual({
      origin: ORIGIN,
      blocks: [
        { type: "thinking", thinking: "Step one, step two.", signature: "EqQBsig" },
        { type: "redacted_thinking", data: "EmwKdata" },
      ],
    });
    // The thinking is still streamed as reasoning, without its signature (this is not the Messages edge).
    expect(chunks.filter((chunk) => chunk.type === "reasoning-delta").map((chunk) => chunk.text)).toEqual([
      "Step one, ",
      "step two.",
    ]);
  });

  it("Gemini: a functionCall's signature on its tool call, a text part's as the turn's", async () => {
    const chunks = await collect(
      convertGeminiStream(
        events(
          [
            { candidates: [{ content: { parts: [{ text: "Calling.", thoughtSignature: "CqText" }] } }] },
            {
              candidates: [
                {
                  content: { parts: [{ functionCall: { name: "w", args: {} }, thoughtSignature: "CqCall" }] },
                  finishReason: "STOP",
                },
              ],
            },
          ],
          false,
        ),
        { choiceCount: 1, generateId: () => "call_gen", apiKey: undefined },
      ),
    );
    const builder = new ReasoningStateBuilder();
    for (const chunk of chunks) builder.add(chunk);
    expect(builder.build(ORIGIN)).toEqual({
      origin: ORIGIN,
      textSignature: "CqText",
      toolSignatures: { call_gen: "CqCall" },
    });
  });

  it("Anthropic: a thinking block without a signature is not kept (it could only be refused)", async () => {
    const chunks = await collect(
      parseAnthropicStream(
        events(
          [
            { type: "message_start", message: { id: "msg_1", model: "claude" } },
            {
              type: "content_block_start",
              index: 0,
              content_block: { type: "thinking", thinking: "", signature: "" },
            },
            {
              type: "content_block_delta",
              index: 0,
              delta: { type: "thinking_delta", thinking: "Unsigned." },
            },
            { type: "content_block_stop", index: 0 },
            { type: "message_delta", delta: { stop_reason: "end_turn" } },
            { type: "message_stop" },
          ],
          true,
        ),
      ),
    );
    expect(chunks.some((chunk) => chunk.type === "reasoning-state")).toBe(false);
    expect(chunks.some((chunk) => chunk.type === "reasoning-delta" && chunk.text === "Unsigned.")).toBe(true);
  });

  it("nothing to carry: no state", () => {
    const builder = new ReasoningStateBuilder();
    builder.add({ type: "text-delta", choice: 0, text: "hi" });
    expect(builder.build(ORIGIN)).toBeUndefined();
  });
});

describe("reasoning state per attempt", () => {
  const request: ChatRequest = {
    model: "m",
    includeUsage: false,
    messages: [
      { role: "user", content: "Hi" },
      {
        role: "assistant",
        content: null,
        toolCalls: [{ id: "toolu_1", name: "w", arguments: "{}" }],
        reasoningState: { origin: ORIGIN, blocks: [{ type: "redacted_thinking", data: "x" }] },
      },
      { role: "tool", toolCallId: "toolu_1", content: "sunny" },
    ],
  };

  it("keeps state for the provider and model that made it (the request itself, untouched)", () => {
    expect(withOwnReasoningOnly(request, ORIGIN)).toBe(request);
  });

  it("drops it for another provider, or the same provider's other model", () => {
    for (const origin of [
      { provider: "gemini-vendor", model: "claude-upstream" },
      { provider: "claude-vendor", model: "claude-other" },
    ]) {
      const sent = withOwnReasoningOnly(request, origin);
      expect(sent.messages[1]).not.toHaveProperty("reasoningState");
      expect(sent.messages[1]?.toolCalls).toEqual(request.messages[1]?.toolCalls);
    }
  });
});
