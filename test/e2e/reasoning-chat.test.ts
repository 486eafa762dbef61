/**
 * Issue 24 on the Chat Completions edge: two-step tool loops with reasoning on, through the openai SDK, against
 * mocks that refuse the second step as Anthropic, Gemini 3, DeepSeek and Kimi do. The app returns the assistant
 * message as received (`messages.push(message)`), JSON and stream (the SDK's stream helper builds the message).
 */
import OpenAI from "openai";
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from "openai/resources/chat/completions";
import { beforeAll, describe, expect, it } from "vitest";
import {
  expectGeminiSignatureBack,
  expectNoReasoningStateInLogs,
  expectOneIgnoredCarrier,
  lastBody,
  lastGeminiContents,
  tamperedCarrier,
  useReasoningGateway,
} from "../helpers/reasoning-suite.ts";
import { THINKING_TEXT } from "../helpers/thinking-anthropic-mock.ts";
import { DEEPSEEK_REASONING } from "../helpers/thinking-deepseek-mock.ts";
import { GEMINI_SENTINEL } from "../helpers/thinking-gemini-mock.ts";

const gateway = useReasoningGateway();
let client: OpenAI;

beforeAll(() => {
  client = new OpenAI({ baseURL: `${gateway.server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

const TOOLS: ChatCompletionCreateParamsNonStreaming["tools"] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      parameters: { type: "object", properties: { city: { type: "string" } } },
    },
  },
];
const TOOL_RESULT = "18C and sunny";

type Mode = "json" | "stream";

async function ask(
  model: string,
  messages: ChatCompletionMessageParam[],
  mode: Mode,
): Promise<ChatCompletion> {
  const params = { model, messages, tools: TOOLS, reasoning_effort: "medium" as const };
  if (mode === "json") return client.chat.completions.create(params);
  return client.chat.completions.stream(params).finalChatCompletion();
}

/** Step 1: the model calls a tool; the app keeps the message as received and answers every call. */
async function firstStep(model: string, mode: Mode): Promise<ChatCompletionMessageParam[]> {
  const messages: ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
  const first = await ask(model, messages, mode);
  const message = first.choices[0]?.message;
  expect(first.choices[0]?.finish_reason).toBe("tool_calls");
  expect(message?.tool_calls?.length).toBe(1);
  messages.push(message as ChatCompletionMessageParam);
  for (const call of message?.tool_calls ?? []) {
    messages.push({ role: "tool", tool_call_id: call.id, content: TOOL_RESULT });
  }
  return messages;
}

interface Block {
  type: string;
  signature?: string;
  thinking?: string;
  data?: string;
  id?: string;
}

describe.each<Mode>(["json", "stream"])("two-step tool loops with reasoning on (%s)", (mode) => {
  it("Anthropic gets its thinking blocks back, signatures and all, before the tool_use", async () => {
    const messages = await firstStep("claude", mode);
    const assistant = messages[1] as unknown as Record<string, unknown>;
    // The SDK's stream helper keeps only the last piece of a field it does not know; the state is whole anyway.
    expect(THINKING_TEXT).toContain(String(assistant.reasoning_content));
    expect(String(assistant.reasoning_state)).toMatch(/^r1-k1-[A-Za-z0-9_-]+$/);
    expect(String(assistant.reasoning_state)).not.toContain(THINKING_TEXT);
    const second = await ask("claude", messages, mode);
    expect(second.choices[0]?.message.content).toBe(`Tool results: ${TOOL_RESULT}`);
    const body = lastBody(gateway.anthropic);
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    const turn = (body.messages as { role: string; content: Block[] }[])[1];
    expect(turn?.content.map((block) => block.type)).toEqual(["thinking", "redacted_thinking", "tool_use"]);
    expect(gateway.anthropic.signatures.get(turn?.content[0]?.signature ?? "")).toBe(THINKING_TEXT);
  });

  it("Gemini 3 gets each function call's own thoughtSignature back (not the skip sentinel)", async () => {
    const messages = await firstStep("gemini", mode);
    const assistant = messages[1] as { tool_calls: { id: string }[]; reasoning_state?: string };
    // The call's signature also rides in its id, for apps that rebuild messages from typed fields.
    const id = assistant.tool_calls[0]?.id ?? "";
    expect(id).toMatch(/^call_[A-Za-z0-9_-]+__r1-k1-[A-Za-z0-9_-]+$/);
    expect(id.length).toBeLessThanOrEqual(1024);
    expect(assistant.reasoning_state).toMatch(/^r1-k1-/);
    const second = await ask("gemini", messages, mode);
    expect(second.choices[0]?.message.content).toContain("Tool results:");
    const contents = lastGeminiContents(gateway);
    const call = expectGeminiSignatureBack(gateway);
    // The vendor sees its own id, never the carrier (in the call and in the function response).
    const vendorId = id.slice(0, id.indexOf("__r1-"));
    expect(call?.functionCall).toMatchObject({ id: vendorId });
    expect(contents[2]?.parts[0]?.functionResponse).toMatchObject({ id: vendorId });
  });

  it.each(["deepseek", "kimi"])(
    "%s gets the turn's reasoning_content back on the tool-call turn",
    async (model) => {
      const messages = await firstStep(model, mode);
      const assistant = messages[1] as { reasoning_content?: string };
      expect(DEEPSEEK_REASONING).toContain(assistant.reasoning_content ?? "-");
      const second = await ask(model, messages, mode);
      expect(second.choices[0]?.message.content).toBe(`Tool results: ${TOOL_RESULT}`);
      const sent = (lastBody(gateway.deepseek).messages as Record<string, unknown>[])[1];
      expect(sent?.reasoning_content).toBe(assistant.reasoning_content);
    },
  );
});

describe("what the tool call id carries", () => {
  it("an app that rebuilds the message from its typed fields still gets Gemini's signature back, by the id", async () => {
    const messages = await firstStep("gemini", "json");
    const { role, content, tool_calls } = messages[1] as OpenAI.ChatCompletionAssistantMessageParam;
    messages[1] = { role, content, tool_calls };
    const second = await ask("gemini", messages, "json");
    expect(second.choices[0]?.message.content).toContain("Tool results:");
    expectGeminiSignatureBack(gateway);
  });

  it("a signature too long for the id stays in reasoning_state only, and still goes back", async () => {
    const messages = await firstStep("gemini-long", "stream");
    const assistant = messages[1] as unknown as { tool_calls: { id: string }[]; reasoning_state: string };
    expect(assistant.tool_calls[0]?.id).toMatch(/^call_[A-Za-z0-9_-]+$/);
    expect(assistant.reasoning_state.length).toBeGreaterThan(1024);
    await ask("gemini-long", messages, "json");
    const call = expectGeminiSignatureBack(gateway);
    expect(String(call?.thoughtSignature).length).toBeGreaterThan(1000);
  });
});

describe("state never crosses vendors, and a bad carrier is ignored", () => {
  it("a fallback from Anthropic to Gemini 3 drops Anthropic's state (Gemini gets the sentinel, no 400)", async () => {
    const messages = await firstStep("claude", "json");
    gateway.anthropic.setOverloaded(true);
    const second = await ask("claude", messages, "json");
    expect(second.choices[0]?.message.content).toContain("Tool results:");
    const contents = JSON.stringify(lastBody(gateway.gemini));
    expect(contents).not.toContain(THINKING_TEXT);
    expect(contents).toContain(GEMINI_SENTINEL);
  });

  it("a model switch from Gemini 3 to Anthropic drops Gemini's state; that step runs without thinking", async () => {
    const messages = await firstStep("gemini", "json");
    const second = await ask("claude", messages, "json");
    expect(second.choices[0]?.message.content).toBe(`Tool results: ${TOOL_RESULT}`);
    const body = lastBody(gateway.anthropic);
    expect(body).not.toHaveProperty("thinking");
    expect(JSON.stringify(body)).not.toContain("__r1-");
  });

  it("a tampered carrier: one warning without its content, and no 400 from the vendor", async () => {
    const messages = await firstStep("claude", "stream");
    const assistant = messages[1] as unknown as { reasoning_state: string };
    const carrier = assistant.reasoning_state;
    assistant.reasoning_state = tamperedCarrier(carrier);
    const logsBefore = gateway.server.logs.length;
    const second = await ask("claude", messages, "json");
    expect(second.choices[0]?.message.content).toBe(`Tool results: ${TOOL_RESULT}`);
    expect(lastBody(gateway.anthropic)).not.toHaveProperty("thinking");
    expectOneIgnoredCarrier(gateway, logsBefore, carrier);
  });

  it("no reasoning state in the gateway's logs", () => {
    expectNoReasoningStateInLogs(gateway);
  });
});
