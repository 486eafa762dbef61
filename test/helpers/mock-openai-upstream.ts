/**
 * A mock OpenAI-compatible vendor on loopback speaking the real wire format (SSE chunks, [DONE], error
 * envelopes). Behaviour is chosen by the upstream model id:
 * - `status-<code>`: answers that HTTP status with OpenAI's error envelope (429 carries retry-after: 0);
 * - anything else: when the last message is a tool result, a text answer quoting every tool result of that
 *   turn; else, when tools are offered, calls the first two tools with arguments split into small fragments;
 *   else echoes the last user message in 3-character deltas.
 * It records every request so tests can assert what reached the vendor.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the vendor received it. */
export interface RecordedUpstreamRequest {
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: Record<string, unknown>;
}

/** A running mock vendor. */
export interface MockUpstream {
  readonly baseUrl: string;
  readonly requests: RecordedUpstreamRequest[];
  close(): Promise<void>;
}

interface UpstreamBody {
  model?: string;
  messages?: { role: string; content: unknown; tool_call_id?: string }[];
  tools?: { function: { name: string } }[];
  stream_options?: { include_usage?: boolean };
}

/** Starts the mock on 127.0.0.1 with a port from the OS. */
export async function startMockOpenAIUpstream(): Promise<MockUpstream> {
  const requests: RecordedUpstreamRequest[] = [];
  const server: Server = createServer((request, response) => {
    let raw = "";
    request.setEncoding("utf8");
    request.on("data", (piece: string) => {
      raw += piece;
    });
    request.on("end", () => {
      const body = JSON.parse(raw) as UpstreamBody & Record<string, unknown>;
      requests.push({ url: request.url ?? "", headers: request.headers, body });
      answer(body, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
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
