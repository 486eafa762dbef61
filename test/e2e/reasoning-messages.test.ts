/**
 * Issue 24 on the Messages edge: two-step tool loops with reasoning on, through @anthropic-ai/sdk's
 * `messages.create`, against mocks that refuse the second step as Anthropic, Gemini 3 and DeepSeek do. The app
 * sends back the assistant content as received plus a tool_result per tool_use (streamed: the SDK's stream helper
 * builds the message). For Anthropic the blocks are its own, passed back unchanged; for the others the gateway's
 * thinking block carries their state, sealed, in its signature.
 */
import Anthropic from "@anthropic-ai/sdk";
import type { Message, MessageParam, Tool } from "@anthropic-ai/sdk/resources/messages";
import { beforeAll, describe, expect, it } from "vitest";
import {
  expectGeminiSignatureBack,
  expectNoReasoningStateInLogs,
  expectOneIgnoredCarrier,
  lastBody,
  tamperedCarrier,
  useReasoningGateway,
} from "../helpers/reasoning-suite.ts";
import { THINKING_TEXT } from "../helpers/thinking-anthropic-mock.ts";
import { DEEPSEEK_REASONING } from "../helpers/thinking-deepseek-mock.ts";
import { GEMINI_SENTINEL, GEMINI_THOUGHT } from "../helpers/thinking-gemini-mock.ts";

const gateway = useReasoningGateway();
let client: Anthropic;

beforeAll(() => {
  client = new Anthropic({ baseURL: gateway.server.url, apiKey: "unused", maxRetries: 0 });
});

const TOOLS: Tool[] = [
  { name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } },
];
const TOOL_RESULT = "18C and sunny";
const CARRIER = /^r1-k1-[A-Za-z0-9_-]+$/;

type Mode = "json" | "stream";

async function ask(model: string, messages: MessageParam[], mode: Mode): Promise<Message> {
  const params = {
    model,
    messages,
    tools: TOOLS,
    max_tokens: 4096,
    thinking: { type: "enabled" as const, budget_tokens: 2048 },
  };
  if (mode === "json") return client.messages.create(params);
  return client.messages.stream(params).finalMessage();
}

/** Step 1: the model calls a tool; the app keeps the content as received and answers every tool_use. */
async function firstStep(model: string, mode: Mode): Promise<MessageParam[]> {
  const messages: MessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
  const first = await ask(model, messages, mode);
  expect(first.stop_reason).toBe("tool_use");
  const calls = first.content.filter((block) => block.type === "tool_use");
  expect(calls).toHaveLength(1);
  messages.push({ role: "assistant", content: first.content });
  messages.push({
    role: "user",
    content: calls.map((call) => ({
      type: "tool_result" as const,
      tool_use_id: call.id,
      content: TOOL_RESULT,
    })),
  });
  return messages;
}

function assistantBlocks(messages: readonly MessageParam[]): Record<string, unknown>[] {
  return messages[1]?.content as unknown as Record<string, unknown>[];
}

function textOf(message: Message): string {
  return message.content.flatMap((block) => (block.type === "text" ? [block.text] : [])).join("");
}

describe.each<Mode>(["json", "stream"])("two-step tool loops with reasoning on (%s)", (mode) => {
  it("Anthropic gets its own blocks back unchanged (thinking with its signature, redacted_thinking)", async () => {
    const messages = await firstStep("claude", mode);
    const blocks = assistantBlocks(messages);
    expect(blocks.map((block) => block.type)).toEqual(["thinking", "redacted_thinking", "tool_use"]);
    expect(gateway.anthropic.signatures.get(String(blocks[0]?.signature))).toBe(THINKING_TEXT);
    const second = await ask("claude", messages, mode);
    expect(textOf(second)).toBe(`Tool results: ${TOOL_RESULT}`);
    const body = lastBody(gateway.anthropic);
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    const turn = (body.messages as { content: Record<string, unknown>[] }[])[1];
    expect(turn?.content.map((block) => block.type)).toEqual(["thinking", "redacted_thinking", "tool_use"]);
  });

  it("Gemini 3 gets its function call's own thoughtSignature back, from the thinking block's signature", async () => {
    const messages = await firstStep("gemini", mode);
    const blocks = assistantBlocks(messages);
    expect(blocks.map((block) => block.type)).toEqual(["thinking", "tool_use"]);
    expect(blocks[0]).toMatchObject({ thinking: GEMINI_THOUGHT, signature: expect.stringMatching(CARRIER) });
    const second = await ask("gemini", messages, mode);
    expect(textOf(second)).toContain("Tool results:");
    expectGeminiSignatureBack(gateway);
  });

  it("DeepSeek gets the turn's reasoning_content back on the tool-call turn, from the thinking text", async () => {
    const messages = await firstStep("deepseek", mode);
    const thinking = assistantBlocks(messages)[0] as { type: string; thinking: string };
    expect(thinking.type).toBe("thinking");
    expect(DEEPSEEK_REASONING).toContain(thinking.thinking);
    const second = await ask("deepseek", messages, mode);
    expect(textOf(second)).toBe(`Tool results: ${TOOL_RESULT}`);
    const sent = (lastBody(gateway.deepseek).messages as Record<string, unknown>[])[1];
    expect(sent?.reasoning_content).toBe(thinking.thinking);
  });
});

describe("state never crosses vendors, and a bad carrier is ignored", () => {
  it("a fallback from Anthropic to Gemini 3 drops Anthropic's blocks (Gemini gets the sentinel, no 400)", async () => {
    const messages = await firstStep("claude", "json");
    gateway.anthropic.setOverloaded(true);
    const second = await ask("claude", messages, "stream");
    expect(textOf(second)).toContain("Tool results:");
    const contents = JSON.stringify(lastBody(gateway.gemini));
    expect(contents).toContain(GEMINI_SENTINEL);
    expect(contents).not.toContain(String(assistantBlocks(messages)[0]?.signature));
  });

  it("after a fallback to Gemini 3, Anthropic back gets no carrier and that step runs without thinking", async () => {
    gateway.anthropic.setOverloaded(true);
    const messages = await firstStep("claude", "stream");
    expect(assistantBlocks(messages)[0]?.signature).toMatch(CARRIER);
    gateway.anthropic.setOverloaded(false);
    const second = await ask("claude", messages, "json");
    expect(textOf(second)).toBe(`Tool results: ${TOOL_RESULT}`);
    const body = lastBody(gateway.anthropic);
    expect(body).not.toHaveProperty("thinking");
    expect(JSON.stringify(body)).not.toContain("r1-k1-");
  });

  it("a tampered carrier: one warning without its content, and no 400 from the vendor", async () => {
    const messages = await firstStep("gemini", "json");
    const thinking = assistantBlocks(messages)[0] as { signature: string };
    const carrier = thinking.signature;
    thinking.signature = tamperedCarrier(carrier);
    const logsBefore = gateway.server.logs.length;
    const second = await ask("gemini", messages, "stream");
    expect(textOf(second)).toContain("Tool results:");
    expect(JSON.stringify(lastBody(gateway.gemini))).toContain(GEMINI_SENTINEL);
    expectOneIgnoredCarrier(gateway, logsBefore, carrier);
  });

  it("no reasoning state in the gateway's logs", () => {
    expectNoReasoningStateInLogs(gateway);
  });
});
