/**
 * Messages requests carrying the gateway's thinking carriers (issue 24): a thinking block whose signature the
 * gateway sealed opens onto the assistant turn's reasoning state and is left out of the native body (for a call
 * and for count_tokens: Anthropic signed none of it); Anthropic's own signatures are no carriers (no warning).
 */
import { describe, expect, it } from "vitest";
import { createReasoningSeal } from "../../src/core/reasoning-seal.ts";
import { CarrierReader } from "../../src/edge/reasoning-carrier.ts";
import { decodeCountTokens, decodeMessages } from "../../src/messages/to-canonical.ts";
import { createCapturedLogger } from "../helpers/captured-logger.ts";

const seal = createReasoningSeal([{ id: "k1", secret: "a secret that is long enough for a key" }]);
const GEMINI = { provider: "gemini-vendor", model: "gemini-3-pro-preview" };
const STATE = { origin: GEMINI, toolSignatures: { call_0: "gemini-sig" } };
const ANTHROPIC_SIGNED = { type: "thinking", thinking: "Earlier, at Anthropic.", signature: "EuYBCkQYAiJA" };

function body(carrier: string): Record<string, unknown> {
  return {
    model: "any",
    max_tokens: 100,
    messages: [
      { role: "user", content: "Weather?" },
      { role: "assistant", content: [ANTHROPIC_SIGNED, { type: "text", text: "Let me look." }] },
      { role: "user", content: "In Paris?" },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "A thought.", signature: carrier },
          { type: "tool_use", id: "toolu_gw_Y2FsbF8w", name: "f", input: {} },
        ],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_gw_Y2FsbF8w", content: "18C" }] },
    ],
  };
}

function carriers() {
  const { loggerInstance, logs } = createCapturedLogger();
  return { carriers: { reader: new CarrierReader(seal, loggerInstance), seal }, logs };
}

describe("Messages thinking carriers on the way in", () => {
  it("a sealed signature opens onto its turn and leaves the native body; Anthropic's stays, with no warning", () => {
    const { carriers: reader, logs } = carriers();
    const { request } = decodeMessages(body(seal.seal(STATE)), {}, reader);
    const turns = request.messages.filter((message) => message.role === "assistant");
    expect(turns[1]).toMatchObject({ reasoningContent: "A thought.", reasoningState: STATE });
    expect(turns[1]?.toolCalls?.[0]?.id).toBe("call_0");
    expect(turns[0]?.reasoningState).toBeUndefined();
    const native = request.native?.body.messages as { content: { type: string }[] }[];
    expect(native[1]?.content[0]).toEqual(ANTHROPIC_SIGNED);
    expect(native[3]?.content.map((block) => block.type)).toEqual(["tool_use"]);
    expect(logs.filter((line) => line.reasoningCarrier === "ignored")).toHaveLength(0);
  });

  it("count_tokens leaves the carriers out of the body Anthropic counts too", () => {
    const { request } = decodeCountTokens(body(seal.seal(STATE)), {}, carriers().carriers);
    const native = request.native?.body.messages as { content: { type: string }[] }[];
    expect(native[3]?.content.map((block) => block.type)).toEqual(["tool_use"]);
  });

  it("an altered carrier: no state, one warning, still out of the native body", () => {
    const carrier = seal.seal(STATE);
    const altered = `${carrier.slice(0, -3)}${carrier.at(-3) === "A" ? "B" : "A"}${carrier.slice(-2)}`;
    const { carriers: reader, logs } = carriers();
    const { request } = decodeMessages(body(altered), {}, reader);
    expect(request.messages.some((message) => message.reasoningState !== undefined)).toBe(false);
    expect(logs.filter((line) => line.reasoningCarrier === "ignored")).toHaveLength(1);
    const native = request.native?.body.messages as { content: { type: string }[] }[];
    expect(native[3]?.content.map((block) => block.type)).toEqual(["tool_use"]);
  });
});
