/**
 * The Messages edge's encoders on canonical input: the stop reason of a turn that ends in tool calls, no empty
 * text block before a call, toolu_ ids that map back to the vendor's, usage in Anthropic's split, and the error
 * mapping of every kind.
 */
import { describe, expect, it } from "vitest";
import type { ChatStream } from "../../src/core/chat-stream.ts";
import { PROXY_ERROR_KINDS, ProxyError } from "../../src/core/errors.ts";
import type { ChatChunk, ChatResult } from "../../src/core/types.ts";
import { ANTHROPIC_ERROR_MAPPINGS, toAnthropicError } from "../../src/messages/errors.ts";
import { toAnthropicMessage, toAnthropicUsage } from "../../src/messages/from-canonical.ts";
import { MessagesEncoder } from "../../src/messages/sse-encoder.ts";
import { fromToolUseId, toToolUseId } from "../../src/messages/tool-ids.ts";
import { type SseFrame, sseFrames } from "../helpers/sse-frames.ts";

const STREAM = { id: "chatcmpl-abc", created: 0, model: "m", choiceCount: 1 } as unknown as ChatStream;

/** The events an encoder writes for `chunks`, parsed. */
function events(chunks: readonly ChatChunk[]): SseFrame[] {
  const encoder = new MessagesEncoder(STREAM);
  return sseFrames(encoder.opening() + (encoder.encode(chunks) ?? "") + encoder.ending());
}

const TOOL_TURN_SAID_STOP: ChatChunk[] = [
  { type: "text-delta", choice: 0, text: "" },
  { type: "tool-call-start", choice: 0, index: 0, id: "call_0", name: "get_weather" },
  { type: "tool-call-delta", choice: 0, index: 0, arguments: '{"city":' },
  { type: "tool-call-delta", choice: 0, index: 0, arguments: '"Paris"}' },
  { type: "tool-call-end", choice: 0, index: 0 },
  { type: "finish", choice: 0, reason: "stop", rawReason: "stop" },
  { type: "usage", usage: { promptTokens: 30, completionTokens: 5, totalTokens: 35, cachedTokens: 10 } },
];

describe("the Messages stream encoder", () => {
  it("says tool_use for a turn that ended in tool calls even when the vendor said stop, with no empty text block", () => {
    const written = events(TOOL_TURN_SAID_STOP);
    expect(written.map((event) => event.event)).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(written[1]?.data).toMatchObject({
      index: 0,
      content_block: { type: "tool_use", id: toToolUseId("call_0"), name: "get_weather", input: {} },
    });
    expect(written[5]?.data).toMatchObject({
      delta: { stop_reason: "tool_use" },
      usage: { input_tokens: 20, output_tokens: 5, cache_read_input_tokens: 10 },
    });
    expect(written[0]?.data.message).toMatchObject({ id: "msg_abc" });
  });

  it("opens a thinking block, then a text block, and passes signatures on", () => {
    const written = events([
      { type: "reasoning-delta", choice: 0, text: "hmm" },
      { type: "reasoning-delta", choice: 0, text: "", signature: "sig-1" },
      { type: "text-delta", choice: 0, text: "Hi" },
      { type: "finish", choice: 0, reason: "length", rawReason: "max_tokens" },
    ]);
    const deltas = written
      .filter((event) => event.event === "content_block_delta")
      .map((event) => event.data.delta);
    expect(deltas).toEqual([
      { type: "thinking_delta", thinking: "hmm" },
      { type: "signature_delta", signature: "sig-1" },
      { type: "text_delta", text: "Hi" },
    ]);
    expect(written.at(-2)?.data).toMatchObject({ delta: { stop_reason: "max_tokens" } });
  });
});

describe("the whole Messages answer", () => {
  it("says tool_use and leaves out the empty text block", () => {
    const result: ChatResult = {
      id: "chatcmpl-x",
      model: "m",
      created: 0,
      choices: [
        {
          index: 0,
          content: "",
          toolCalls: [{ id: "call_9", name: "f", arguments: '{"a":1}' }],
          finishReason: "stop",
          rawFinishReason: "stop",
        },
      ],
    };
    const message = toAnthropicMessage(result);
    expect(message.stop_reason).toBe("tool_use");
    expect(message.content).toEqual([
      { type: "tool_use", id: toToolUseId("call_9"), name: "f", input: { a: 1 } },
    ]);
  });

  it("splits the cache out of input_tokens as Anthropic does", () => {
    expect(
      toAnthropicUsage({
        promptTokens: 40,
        completionTokens: 3,
        totalTokens: 43,
        cachedTokens: 10,
        cacheWriteTokens: 5,
      }),
    ).toEqual({
      input_tokens: 25,
      output_tokens: 3,
      cache_read_input_tokens: 10,
      cache_creation_input_tokens: 5,
    });
  });
});

describe("tool-use ids", () => {
  it("keeps Anthropic's ids and maps every other id one-to-one and back", () => {
    expect(toToolUseId("toolu_01ABC")).toBe("toolu_01ABC");
    const ids = ["call_0", "call_1", "toolu_gw_x", "fc-1/with:odd chars", "call_é"];
    const mapped = ids.map(toToolUseId);
    expect(new Set(mapped).size).toBe(ids.length);
    for (const id of mapped) expect(id).toMatch(/^toolu_[A-Za-z0-9_-]+$/);
    expect(mapped.map(fromToolUseId)).toEqual(ids);
    expect(fromToolUseId("toolu_01ABC")).toBe("toolu_01ABC");
  });
});

describe("Anthropic's error envelope", () => {
  it("maps every kind, overloaded to 529", () => {
    for (const kind of PROXY_ERROR_KINDS) expect(ANTHROPIC_ERROR_MAPPINGS[kind]).toBeDefined();
    const overloaded = toAnthropicError(new ProxyError("overloaded", "busy"));
    expect(overloaded.status).toBe(529);
    expect(overloaded.body).toEqual({ type: "error", error: { type: "overloaded_error", message: "busy" } });
  });
});
