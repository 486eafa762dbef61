/**
 * A mock DeepSeek (OpenAI-compatible `POST /v1/chat/completions`, JSON or SSE ending `data: [DONE]`) in thinking
 * mode (`deepseek-reasoner`, a Kimi `…thinking` model, or `thinking: {type: "enabled"}`) that refuses a tool loop's second step as DeepSeek
 * does: every assistant turn with tool_calls after the last user message must carry its `reasoning_content`, else
 * 400 invalid_request_error. Answers: to a request offering tools whose last message is not a tool result,
 * `reasoning_content` and one tool call (finish_reason tool_calls); to tool results, reasoning and a text answer
 * quoting them.
 * @see https://api-docs.deepseek.com/guides/thinking_mode
 */
import type { ServerResponse } from "node:http";
import { type MockUpstream, startMockUpstream } from "./mock-server.ts";

export const DEEPSEEK_REASONING = "I need the weather tool for Paris.";
export const DEEPSEEK_CALL_ID = "call_00_DeepSeekWeather";

interface Message {
  readonly role: string;
  readonly content?: string | null;
  readonly reasoning_content?: string;
  readonly tool_calls?: readonly object[];
}

interface Body {
  readonly model?: string;
  readonly stream?: boolean;
  readonly thinking?: { readonly type?: string };
  readonly messages?: readonly Message[];
  readonly tools?: readonly { readonly function: { readonly name: string } }[];
}

export function startThinkingDeepSeekMock(): Promise<MockUpstream> {
  return startMockUpstream("/v1", (recorded, _request, response) => {
    const body = recorded.body as Body;
    // DeepSeek's reasoner and Kimi's thinking models (kimi-k2-thinking) hold the same rule.
    const thinking =
      body.model === "deepseek-reasoner" ||
      body.model?.includes("thinking") === true ||
      body.thinking?.type === "enabled";
    const refusal = thinking ? checkReasoning(body.messages ?? []) : undefined;
    if (refusal !== undefined) {
      response.writeHead(400, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          error: {
            message: refusal,
            type: "invalid_request_error",
            param: null,
            code: "invalid_request_error",
          },
        }),
      );
      return;
    }
    answer(body, response);
  });
}

function checkReasoning(messages: readonly Message[]): string | undefined {
  const lastUser = messages.findLastIndex((message) => message.role === "user");
  for (const [position, message] of messages.entries()) {
    if (position < lastUser || message.role !== "assistant" || !message.tool_calls?.length) continue;
    if (typeof message.reasoning_content !== "string") {
      return (
        `Missing \`reasoning_content\` field in the assistant message at message index ${position}. For more ` +
        "information, please refer to https://api-docs.deepseek.com/guides/thinking_mode#tool-calls"
      );
    }
  }
  return undefined;
}

function answer(body: Body, response: ServerResponse): void {
  const messages = body.messages ?? [];
  const last = messages.at(-1);
  const tool = body.tools?.[0]?.function.name;
  const calls = last?.role !== "tool" && tool !== undefined;
  const content = calls
    ? null
    : `Tool results: ${messages
        .filter((message) => message.role === "tool")
        .map((message) => message.content ?? "")
        .join(" | ")}`;
  const toolCalls = calls
    ? [{ id: DEEPSEEK_CALL_ID, type: "function", function: { name: tool, arguments: '{"city":"Paris"}' } }]
    : undefined;
  const finish = calls ? "tool_calls" : "stop";
  const head = {
    id: "chatcmpl-deepseek-mock",
    created: 1_765_000_000,
    model: body.model ?? "deepseek-reasoner",
  };
  const usage = { prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 };
  if (body.stream !== true) {
    response.writeHead(200, { "content-type": "application/json" });
    const message = {
      role: "assistant",
      content,
      reasoning_content: DEEPSEEK_REASONING,
      ...(toolCalls ? { tool_calls: toolCalls } : {}),
    };
    response.end(
      JSON.stringify({
        ...head,
        object: "chat.completion",
        choices: [{ index: 0, message, finish_reason: finish }],
        usage,
      }),
    );
    return;
  }
  response.writeHead(200, { "content-type": "text/event-stream" });
  const send = (delta: object, finishReason: string | null = null): void => {
    const chunk = {
      ...head,
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    };
    response.write(`data: ${JSON.stringify(chunk)}\n\n`);
  };
  send({ role: "assistant", content: null, reasoning_content: "" });
  send({ reasoning_content: DEEPSEEK_REASONING.slice(0, 10) });
  send({ reasoning_content: DEEPSEEK_REASONING.slice(10) });
  if (toolCalls !== undefined) send({ tool_calls: toolCalls.map((call, index) => ({ index, ...call })) });
  else send({ content });
  send({}, finish);
  response.write(
    `data: ${JSON.stringify({ ...head, object: "chat.completion.chunk", choices: [], usage })}\n\n`,
  );
  response.end("data: [DONE]\n\n");
}
