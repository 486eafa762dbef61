/**
 * Issue 24 on the gRPC edge: two-step tool loops with reasoning on through @grpc/grpc-js (as README shows it:
 * proto-loader, snake_case), unary and streamed, against the mocks that refuse the second step as Anthropic,
 * Gemini 3 and DeepSeek do. The app returns the assistant message as received (unary), or as it assembled it
 * from the deltas (stream), `reasoning_state` included.
 */
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChatMessage, ChatMessageSchema, ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import { type GrpcChatClient, grpcChatClient } from "../helpers/grpc-js-client.ts";
import {
  expectGeminiSignatureBack,
  expectOneIgnoredCarrier,
  lastBody,
  lastGeminiContents,
  useReasoningGateway,
} from "../helpers/reasoning-suite.ts";
import { THINKING_TEXT } from "../helpers/thinking-anthropic-mock.ts";
import { DEEPSEEK_REASONING } from "../helpers/thinking-deepseek-mock.ts";

const gateway = useReasoningGateway();
let client: GrpcChatClient;

beforeAll(() => {
  client = grpcChatClient(gateway.server.port);
});
afterAll(() => {
  client?.close();
});

const TOOLS = [
  {
    type: "function",
    function: { name: "get_weather", parameters: { fields: { type: { stringValue: "object" } } } },
  },
];
const TOOL_RESULT = "18C and sunny";

interface ToolCall {
  id: string;
  type?: string;
  function: { name: string; arguments: string };
}
interface Message {
  role: string;
  content?: string;
  reasoning_content?: string;
  reasoning_state?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}
interface Answer {
  message: Message;
  finishReason: string;
}

function unary(model: string, messages: Message[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    client.CreateChatCompletion(
      { model, messages, tools: TOOLS, reasoning_effort: "medium" },
      (error, response) => {
        if (error !== null) return reject(error);
        const choice = (response as { choices: { message: Message; finish_reason: string }[] }).choices[0];
        resolve({ message: choice?.message as Message, finishReason: choice?.finish_reason ?? "" });
      },
    );
  });
}

/** What an app does with a stream: concatenates the pieces and keeps the carrier of the last chunk. */
async function streamed(model: string, messages: Message[]): Promise<Answer> {
  const call = client.StreamChatCompletion({ model, messages, tools: TOOLS, reasoning_effort: "medium" });
  const message: Message = { role: "assistant" };
  let finishReason = "";
  for await (const chunk of call as AsyncIterable<{
    choices?: { delta?: Record<string, unknown>; finish_reason?: string }[];
  }>) {
    const choice = chunk.choices?.[0];
    const delta = (choice?.delta ?? {}) as {
      content?: string;
      reasoning_content?: string;
      reasoning_state?: string;
      tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[];
    };
    if (delta.content !== undefined) message.content = (message.content ?? "") + delta.content;
    if (delta.reasoning_content !== undefined) {
      message.reasoning_content = (message.reasoning_content ?? "") + delta.reasoning_content;
    }
    if (delta.reasoning_state !== undefined) message.reasoning_state = delta.reasoning_state;
    for (const piece of delta.tool_calls ?? []) {
      message.tool_calls ??= [];
      const index = piece.index ?? 0;
      message.tool_calls[index] ??= { id: "", type: "function", function: { name: "", arguments: "" } };
      const call = message.tool_calls[index];
      if (piece.id) call.id = piece.id;
      if (piece.function?.name) call.function.name = piece.function.name;
      call.function.arguments += piece.function?.arguments ?? "";
    }
    if (choice?.finish_reason) finishReason = choice.finish_reason;
  }
  return { message, finishReason };
}

async function toolLoop(model: string, ask: typeof unary): Promise<{ first: Message; second: Answer }> {
  const messages: Message[] = [{ role: "user", content: "Weather in Paris?" }];
  const first = await ask(model, messages);
  expect(first.finishReason).toBe("tool_calls");
  messages.push(first.message);
  for (const call of first.message.tool_calls ?? []) {
    messages.push({ role: "tool", tool_call_id: call.id, content: TOOL_RESULT });
  }
  return { first: first.message, second: await ask(model, messages) };
}

describe.each([
  ["unary", unary],
  ["stream", streamed],
] as const)("gRPC tool loops with reasoning on (%s)", (_mode, ask) => {
  it("Anthropic: the thinking blocks go back with their signatures", async () => {
    const { first, second } = await toolLoop("claude", ask);
    expect(first.reasoning_content).toBe(THINKING_TEXT);
    expect(first.reasoning_state).toMatch(/^r1-k1-/);
    expect(second.message.content).toBe(`Tool results: ${TOOL_RESULT}`);
    const body = lastBody(gateway.anthropic);
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    const turn = (body.messages as { content: { type: string; signature?: string }[] }[])[1];
    expect(turn?.content.map((block) => block.type)).toEqual(["thinking", "redacted_thinking", "tool_use"]);
    expect(gateway.anthropic.signatures.get(turn?.content[0]?.signature ?? "")).toBe(THINKING_TEXT);
  });

  it("Gemini 3: each call's thoughtSignature goes back, the vendor sees its own ids", async () => {
    const { first, second } = await toolLoop("gemini", ask);
    expect(first.tool_calls?.[0]?.id).toMatch(/__r1-k1-/);
    expect(second.message.content).toContain("Tool results:");
    const contents = lastGeminiContents(gateway);
    expectGeminiSignatureBack(gateway);
    expect(JSON.stringify(contents)).not.toContain("__r1-");
  });

  it("DeepSeek: reasoning_content goes back on the tool-call turn", async () => {
    const { first, second } = await toolLoop("deepseek", ask);
    expect(first.reasoning_content).toBe(DEEPSEEK_REASONING);
    expect(second.message.content).toBe(`Tool results: ${TOOL_RESULT}`);
  });
});

describe("Connect protocol (the Connect service, not the gRPC fast lane), generated client", () => {
  const request = (model: string, messages: ChatMessage[]) => ({
    model,
    messages,
    reasoningEffort: "medium",
    tools: [{ type: "function", function: { name: "get_weather" } }],
  });

  it.each(["claude", "gemini"])(
    "%s: unary then streamed, the message returned as received",
    async (model) => {
      const connect = createClient(
        ChatService,
        createConnectTransport({ baseUrl: gateway.server.url, httpVersion: "1.1" }),
      );
      const messages = [create(ChatMessageSchema, { role: "user", content: "Weather in Paris?" })];
      const first = (await connect.createChatCompletion(request(model, messages))).choices[0]?.message;
      expect(first?.reasoningState).toMatch(/^r1-k1-/);
      const { role, content, reasoningContent, reasoningState, toolCalls } =
        first ?? create(ChatMessageSchema);
      messages.push(
        create(ChatMessageSchema, { role, content, reasoningContent, reasoningState, toolCalls }),
      );
      for (const call of toolCalls) {
        messages.push(create(ChatMessageSchema, { role: "tool", toolCallId: call.id, content: TOOL_RESULT }));
      }
      let text = "";
      for await (const chunk of connect.streamChatCompletion(request(model, messages))) {
        text += chunk.choices[0]?.delta?.content ?? "";
      }
      expect(text).toContain("Tool results:");
      const body = JSON.stringify(lastBody(model === "claude" ? gateway.anthropic : gateway.gemini));
      if (model === "claude") expect(body).toContain('"type":"redacted_thinking"');
      else expect([...gateway.gemini.signatures].some((signature) => body.includes(signature))).toBe(true);
    },
  );
});

describe("gRPC: a tampered carrier", () => {
  it("is ignored with one warning, and Anthropic answers without thinking instead of a 400", async () => {
    const messages: Message[] = [{ role: "user", content: "Weather in Paris?" }];
    const first = await unary("claude", messages);
    const state = first.message.reasoning_state ?? "";
    messages.push({
      ...first.message,
      reasoning_state: `${state.slice(0, 30)}${state[30] === "A" ? "B" : "A"}${state.slice(31)}`,
    });
    messages.push({
      role: "tool",
      tool_call_id: first.message.tool_calls?.[0]?.id ?? "",
      content: TOOL_RESULT,
    });
    const logsBefore = gateway.server.logs.length;
    const second = await unary("claude", messages);
    expect(second.message.content).toBe(`Tool results: ${TOOL_RESULT}`);
    expect(lastBody(gateway.anthropic)).not.toHaveProperty("thinking");
    expectOneIgnoredCarrier(gateway, logsBefore, state);
    expect(JSON.stringify(gateway.server.logs)).not.toContain(state.slice(10, 40));
  });
});
