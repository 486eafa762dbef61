/**
 * Anthropic Messages bodies decoded into the canonical request that every non-Anthropic adapter translates: the
 * thinking text kept as reasoning with its signature dropped, redacted thinking and unknown blocks dropped, system
 * blocks and role system messages, images, tool results (errors flagged in the text) with the vendor's ids back,
 * tool_choice and effort; and the native body for an Anthropic upstream left as the client sent it.
 */
import { describe, expect, it } from "vitest";
import { decodeMessages } from "../../src/messages/to-canonical.ts";
import { toToolUseId } from "../../src/messages/tool-ids.ts";

const FOREIGN_SIGNATURE = "sig-issued-by-another-vendor";

const BODY = {
  model: "m",
  max_tokens: 100,
  system: [
    { type: "text", text: "x-anthropic-billing-header: cc_version=1;" },
    { type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } },
  ],
  messages: [
    {
      role: "user",
      content: [
        { type: "text", text: "Look:" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
        { type: "image", source: { type: "url", url: "https://example.com/cat.png" } },
      ],
    },
    {
      role: "assistant",
      content: [
        { type: "thinking", thinking: "Let me check.", signature: FOREIGN_SIGNATURE },
        { type: "redacted_thinking", data: "opaque" },
        { type: "tool_use", id: toToolUseId("call_7"), name: "lookup", input: { q: "cat" } },
      ],
    },
    {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: toToolUseId("call_7"), content: "not found", is_error: true },
        { type: "search_result", source: "x", title: "t", content: [] },
        { type: "text", text: "Try again." },
      ],
    },
    { role: "system", content: "Answer in French." },
  ],
  tool_choice: { type: "any", disable_parallel_tool_use: true },
  tools: [
    { name: "lookup", input_schema: { type: "object", properties: { q: { type: "string" } } } },
    { type: "web_search_20250305", name: "web_search" },
  ],
  thinking: { type: "enabled", budget_tokens: 4000 },
  top_k: 5,
};

describe("decoding a Messages body", () => {
  const { request, stream } = decodeMessages(BODY, { "anthropic-beta": "b1,b2" });

  it("translates the conversation for other vendors", () => {
    expect(stream).toBe(false);
    expect(request.messages).toEqual([
      { role: "system", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "Look:" },
          { type: "image_url", url: "data:image/png;base64,iVBORw0KGgo=" },
          { type: "image_url", url: "https://example.com/cat.png" },
        ],
      },
      {
        role: "assistant",
        content: null,
        toolCalls: [{ id: "call_7", name: "lookup", arguments: '{"q":"cat"}' }],
        reasoningContent: "Let me check.",
      },
      { role: "tool", toolCallId: "call_7", content: "Error: not found" },
      { role: "user", content: "Try again." },
      { role: "system", content: "Answer in French." },
    ]);
    expect(JSON.stringify(request.messages)).not.toContain(FOREIGN_SIGNATURE);
    expect(request.tools?.map((tool) => tool.name)).toEqual(["lookup"]);
    expect(request.toolChoice).toEqual({ type: "required" });
    expect(request.parallelToolCalls).toBe(false);
    expect(request.reasoningEffort).toBe("medium");
    expect(request.maxTokens).toBe(100);
  });

  it("keeps the client's body and anthropic-beta as the native value", () => {
    expect(request.native).toEqual({
      format: "anthropic",
      body: BODY,
      headers: { "anthropic-beta": "b1,b2" },
    });
  });
});
