/**
 * Where the Responses and Messages stream encoders put a turn's sealed reasoning state (src/edge/turn-carrier.ts),
 * on canonical chunks the mocks do not produce: state with no reasoning text to ride on, state that comes after
 * the last block, Anthropic's blocks in a row; and none of it without a seal.
 */
import { describe, expect, it } from "vitest";
import type { ChatStream } from "../../src/core/chat-stream.ts";
import { createReasoningSeal } from "../../src/core/reasoning-seal.ts";
import type { ChatChunk } from "../../src/core/types.ts";
import { MessagesEncoder } from "../../src/messages/sse-encoder.ts";
import { ResponsesSseEncoder } from "../../src/responses/sse-encoder.ts";
import type { ResponseEcho } from "../../src/responses/to-canonical.ts";
import { planTools } from "../../src/responses/tools.ts";
import { type SseFrame, sseFrames } from "../helpers/sse-frames.ts";

const seal = createReasoningSeal([{ id: "k1", secret: "a secret that is long enough for a key" }]);
const STREAM = {
  id: "chatcmpl-abc",
  created: 0,
  model: "m",
  choiceCount: 1,
  served: { provider: "gemini-vendor", upstreamModel: "gemini-3-pro-preview", attempts: 1 },
} as unknown as ChatStream;
const ORIGIN = { provider: "gemini-vendor", model: "gemini-3-pro-preview" };

function messagesEvents(chunks: readonly ChatChunk[], withSeal = true): SseFrame[] {
  const encoder = new MessagesEncoder(STREAM, withSeal ? seal : undefined);
  return sseFrames(encoder.opening() + (encoder.encode(chunks) ?? "") + encoder.ending());
}

/** The content blocks a client builds from the events (as the SDK's stream helper does). */
function blocksOf(events: readonly SseFrame[]): Record<string, unknown>[] {
  const blocks: Record<string, unknown>[] = [];
  for (const { event, data } of events) {
    if (event === "content_block_start") blocks[data.index as number] = { ...(data.content_block as object) };
    if (event === "content_block_delta") {
      const block = blocks[data.index as number] as Record<string, unknown>;
      const delta = data.delta as Record<string, string>;
      if (delta.type === "signature_delta") block.signature = delta.signature;
      if (delta.type === "thinking_delta") block.thinking = `${block.thinking}${delta.thinking}`;
    }
  }
  return blocks;
}

const SIGNED_CALL: ChatChunk[] = [
  { type: "tool-call-start", choice: 0, index: 0, id: "call_0", name: "f", signature: "gemini-sig" },
  { type: "tool-call-delta", choice: 0, index: 0, arguments: "{}" },
  { type: "tool-call-end", choice: 0, index: 0 },
  { type: "finish", choice: 0, reason: "tool_calls", rawReason: "STOP" },
];

describe("the Messages encoder's thinking carriers", () => {
  it("gives state with no thinking text an empty thinking block of its own, before the call", () => {
    const blocks = blocksOf(messagesEvents(SIGNED_CALL));
    expect(blocks.map((block) => block.type)).toEqual(["thinking", "tool_use"]);
    expect(blocks[0]?.thinking).toBe("");
    expect(seal.open(String(blocks[0]?.signature))).toEqual({
      origin: ORIGIN,
      toolSignatures: { call_0: "gemini-sig" },
    });
    // None without a seal.
    expect(blocksOf(messagesEvents(SIGNED_CALL, false)).map((block) => block.type)).toEqual(["tool_use"]);
  });

  it("closes a tool turn with the state that came after its last block; a text turn without it", () => {
    const late: ChatChunk = { type: "reasoning-state", choice: 0, textSignature: "late-sig" };
    const toolTurn = blocksOf(
      messagesEvents([...SIGNED_CALL.slice(0, 3), late, SIGNED_CALL[3] as ChatChunk]),
    );
    expect(toolTurn.map((block) => block.type)).toEqual(["thinking", "tool_use", "thinking"]);
    expect(seal.open(String(toolTurn[2]?.signature))).toMatchObject({ textSignature: "late-sig" });
    const textTurn = blocksOf(
      messagesEvents([
        { type: "text-delta", choice: 0, text: "Hi" },
        late,
        { ...SIGNED_CALL[3], reason: "stop" } as ChatChunk,
      ]),
    );
    expect(textTurn.map((block) => block.type)).toEqual(["text"]);
  });

  it("passes Anthropic's blocks as they came: each thinking block with its signature, redacted_thinking whole", () => {
    const blocks = blocksOf(
      messagesEvents([
        { type: "reasoning-delta", choice: 0, text: "one" },
        { type: "reasoning-delta", choice: 0, text: "", signature: "sig-1" },
        {
          type: "reasoning-state",
          choice: 0,
          block: { type: "thinking", thinking: "one", signature: "sig-1" },
        },
        { type: "reasoning-delta", choice: 0, text: "two" },
        { type: "reasoning-delta", choice: 0, text: "", signature: "sig-2" },
        {
          type: "reasoning-state",
          choice: 0,
          block: { type: "thinking", thinking: "two", signature: "sig-2" },
        },
        { type: "reasoning-state", choice: 0, block: { type: "redacted_thinking", data: "opaque" } },
        { type: "text-delta", choice: 0, text: "Hi" },
        { type: "finish", choice: 0, reason: "stop", rawReason: "end_turn" },
      ]),
    );
    expect(blocks).toEqual([
      { type: "thinking", thinking: "one", signature: "sig-1" },
      { type: "thinking", thinking: "two", signature: "sig-2" },
      { type: "redacted_thinking", data: "opaque" },
      { type: "text", text: "" },
    ]);
  });
});

const ECHO: ResponseEcho = {
  instructions: null,
  maxOutputTokens: null,
  temperature: null,
  topP: null,
  parallelToolCalls: true,
  toolChoice: "auto",
  tools: [],
  text: { format: { type: "text" } },
  metadata: {},
  store: false,
  user: null,
  reasoningEffort: null,
};

function responsesEvents(chunks: readonly ChatChunk[], withSeal = true): SseFrame[] {
  const tool = { type: "function", name: "f", parameters: { type: "object" } };
  const plan = planTools([tool]);
  const encoder = new ResponsesSseEncoder(STREAM, ECHO, plan, withSeal ? seal : undefined);
  return sseFrames(encoder.opening() + (encoder.encode(chunks) ?? "") + encoder.ending());
}

describe("the Responses encoder's reasoning carriers", () => {
  it("gives state with no reasoning text a reasoning item of its own, done before the call is added", () => {
    const events = responsesEvents(SIGNED_CALL).filter((frame) =>
      frame.event.startsWith("response.output_item"),
    );
    expect(
      events.map((frame) => `${frame.event.slice(21)} ${(frame.data.item as { type: string }).type}`),
    ).toEqual(["added reasoning", "done reasoning", "added function_call", "done function_call"]);
    const item = events[1]?.data.item as { summary: unknown[]; encrypted_content: string };
    expect(item.summary).toEqual([]);
    expect(seal.open(item.encrypted_content)).toEqual({
      origin: ORIGIN,
      toolSignatures: { call_0: "gemini-sig" },
    });
    // None when the client did not ask for encrypted_content (no seal).
    const unsealed = responsesEvents(SIGNED_CALL, false).filter(
      (frame) => frame.event === "response.output_item.done",
    );
    expect(unsealed.map((frame) => (frame.data.item as { type: string }).type)).toEqual(["function_call"]);
  });
});
