/**
 * A mock OpenAI-compatible vendor on loopback speaking the real wire format (SSE chunks, [DONE], error
 * envelopes). Behaviour is chosen by the upstream model id:
 * - `status-<code>`: answers that HTTP status with OpenAI's error envelope (429 carries retry-after: 0);
 * - anything else: when the last message is a tool result, a text answer quoting every tool result of that
 *   turn; else, when tools are offered, calls the first two tools with arguments split into small fragments;
 *   else echoes the last user message in 3-character deltas. A request with `stream: false` gets the same
 *   answer as one `chat.completion` JSON body with usage, as OpenAI answers it.
 * It records every request so tests can assert what reached the vendor.
 */
import type { ServerResponse } from "node:http";
import { type MockUpstream, startMockUpstream } from "./mock-server.ts";

interface UpstreamBody {
  model?: string;
  stream?: boolean;
  messages?: { role: string; content: unknown; tool_call_id?: string }[];
  tools?: { function: { name: string } }[];
  stream_options?: { include_usage?: boolean };
}

/** Starts the mock on 127.0.0.1 with a port from the OS. */
export function startMockOpenAIUpstream(): Promise<MockUpstream> {
  // Strict JSON.parse: a body the gateway could not have meant fails the test loudly.
  return startMockUpstream(
    "/v1",
    (recorded, _request, response) => answer(recorded.body as UpstreamBody, response),
    JSON.parse,
  );
}

function answer(body: UpstreamBody, response: ServerResponse): void {
  const model = body.model ?? "";
  const status = /^status-(\d{3})$/.exec(model);
  if (status !== null) {
    const code = Number(status[1]);
    response.writeHead(code, {
      "content-type": "application/json",
      ...(code === 429 ? { "retry-after": "0" } : {}),
    });
    response.end(
      JSON.stringify({
        error: { message: `mock failure ${code}`, type: "mock_error", param: null, code: null },
      }),
    );
    return;
  }
  if (body.stream === false) {
    answerWhole(body, response, model);
    return;
  }
  response.writeHead(200, { "content-type": "text/event-stream" });
  const base = { id: "chatcmpl-mock", object: "chat.completion.chunk", created: 1_700_000_000, model };
  const send = (payload: object): boolean =>
    response.write(`data: ${JSON.stringify({ ...base, ...payload })}\n\n`);
  send({ choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
  const results = trailingToolResults(body);
  const tools = results.length > 0 ? [] : (body.tools ?? []);
  const answer = results.length > 0 ? `Tool results: ${results.join(" | ")}` : lastUserText(body);
  if (tools.length > 0) sendToolCalls(tools, send);
  else
    for (const piece of chunkText(answer, 3))
      send({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] });
  send({ choices: [{ index: 0, delta: {}, finish_reason: tools.length > 0 ? "tool_calls" : "stop" }] });
  if (body.stream_options?.include_usage === true) {
    send({ choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } });
  }
  response.end("data: [DONE]\n\n");
}

/** The non-streaming form of the same answer. */
function answerWhole(body: UpstreamBody, response: ServerResponse, model: string): void {
  const results = trailingToolResults(body);
  const tools = results.length > 0 ? [] : (body.tools ?? []).slice(0, 2);
  const message =
    tools.length > 0
      ? {
          role: "assistant",
          content: null,
          tool_calls: tools.map((tool, index) => ({
            id: `call_${index}`,
            type: "function",
            function: { name: tool.function.name, arguments: '{"city":"Paris"}' },
          })),
        }
      : {
          role: "assistant",
          content: results.length > 0 ? `Tool results: ${results.join(" | ")}` : lastUserText(body),
        };
  response.writeHead(200, { "content-type": "application/json" });
  response.end(
    JSON.stringify({
      id: "chatcmpl-mock",
      object: "chat.completion",
      created: 1_700_000_000,
      model,
      choices: [
        { index: 0, message, logprobs: null, finish_reason: tools.length > 0 ? "tool_calls" : "stop" },
      ],
      usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
    }),
  );
}

function sendToolCalls(tools: { function: { name: string } }[], send: (payload: object) => boolean): void {
  tools.slice(0, 2).forEach((tool, index) => {
    const delta = {
      tool_calls: [
        {
          index,
          id: `call_${index}`,
          type: "function",
          function: { name: tool.function.name, arguments: "" },
        },
      ],
    };
    send({ choices: [{ index: 0, delta, finish_reason: null }] });
  });
  for (const piece of chunkText('{"city":"Paris"}', 4)) {
    for (let index = 0; index < Math.min(tools.length, 2); index++) {
      send({
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index, function: { arguments: piece } }] },
            finish_reason: null,
          },
        ],
      });
    }
  }
}

/** The contents of the tool messages that end the conversation, if it ends with any. */
function trailingToolResults(body: UpstreamBody): string[] {
  const results: string[] = [];
  for (const message of [...(body.messages ?? [])].reverse()) {
    if (message.role !== "tool") break;
    results.unshift(typeof message.content === "string" ? message.content : JSON.stringify(message.content));
  }
  return results;
}

function lastUserText(body: UpstreamBody): string {
  const user = [...(body.messages ?? [])].reverse().find((message) => message.role === "user");
  return typeof user?.content === "string" ? user.content : "";
}

function chunkText(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}
