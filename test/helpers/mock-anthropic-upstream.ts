/**
 * A mock Anthropic Messages API on loopback speaking the real wire format: `POST /v1/messages` answered with
 * named SSE events (message_start, content_block_start/delta/stop, ping, message_delta, message_stop) and
 * Anthropic's error body `{"type":"error","error":{type,message},"request_id"}`. Behaviour by upstream model id:
 * - `status-<code>`: that HTTP status with the matching error type (429/529 carry `retry-after: 0`; the
 *   401 message quotes the key, as a hostile upstream might);
 * - `midstream-error`: a 200 stream with some text, a ping, then `event: error` overloaded_error;
 * - anything else: when the last user turn holds tool_result blocks, a text answer quoting their content;
 *   when tools are offered, a short text block then tool_use blocks for the first two tools, their
 *   input_json_delta split into small fragments (stop_reason tool_use); otherwise the last user text echoed
 *   in small text_delta pieces (stop_reason end_turn).
 * `POST /v1/messages/count_tokens` answers `{"input_tokens": ANTHROPIC_MOCK_COUNT}`.
 * Like the real API it rejects a wrong `x-api-key` (401) and requests Anthropic would refuse (400). To check
 * the gateway scrubs secrets, its 401 messages deliberately quote the key they received.
 * @see https://platform.claude.com/docs/en/build-with-claude/streaming
 * @see https://platform.claude.com/docs/en/api/errors
 */
import type { ServerResponse } from "node:http";
import { type MockUpstream, startMockUpstream } from "./mock-server.ts";

/** What the mock reports as usage (message_start, then cumulative in message_delta). */
export const ANTHROPIC_MOCK_USAGE = {
  input_tokens: 25,
  cache_creation_input_tokens: 5,
  cache_read_input_tokens: 10,
  output_tokens: 17,
} as const;

/** The text block sent before the tool calls. */
export const ANTHROPIC_MOCK_TOOL_PREAMBLE = "Let me look that up.";

/** The tool_use blocks, in order: ids and the exact argument JSON the fragments add up to. */
export const ANTHROPIC_MOCK_TOOL_USES = [
  { id: "toolu_01MockWeatherA1b2C3", partialJson: '{"city": "Paris", "unit": "celsius"}' },
  { id: "toolu_01MockTimeD4e5F6", partialJson: '{"timezone": "Europe/Paris"}' },
] as const;

/** What `POST /v1/messages/count_tokens` answers. */
export const ANTHROPIC_MOCK_COUNT = 4242;

/** Text of the mid-stream-error answer before the error event. */
export const ANTHROPIC_MOCK_PARTIAL_TEXT = "Partial answer";

/** The error type Anthropic uses for each status (503 is not documented; it comes from their edge). */
const ERROR_TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  503: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

interface Block {
  readonly type: string;
  readonly text?: string;
  readonly id?: string;
  readonly name?: string;
  readonly tool_use_id?: string;
  readonly content?: string | readonly Block[];
}

interface MessagesBody {
  readonly model?: unknown;
  readonly max_tokens?: unknown;
  readonly stream?: unknown;
  readonly messages?: readonly { role: string; content: string | readonly Block[] }[];
  readonly tools?: readonly { name: string }[];
}

type Send = (event: string, data: object) => void;

/** Starts the mock on 127.0.0.1 (port from the OS). `apiKey`: the only x-api-key it accepts. */
export function startMockAnthropicUpstream(apiKey: string): Promise<MockUpstream> {
  return startMockUpstream("/v1", ({ body }, request, response) => {
    if (request.method === "POST" && request.url === "/v1/messages/count_tokens") {
      countTokens(request.headers["x-api-key"] === apiKey, response);
      return;
    }
    if (request.method !== "POST" || request.url !== "/v1/messages") {
      return fail(response, 404, `Not found: ${request.method} ${request.url}`);
    }
    const key = request.headers["x-api-key"];
    if (key !== apiKey) return fail(response, 401, `invalid x-api-key: ${String(key)}`);
    if (request.headers["anthropic-version"] === undefined) {
      return fail(response, 400, "anthropic-version: header is required");
    }
    const problem = validate(body as MessagesBody);
    if (problem !== undefined) return fail(response, 400, problem);
    const status = /^status-(\d{3})$/.exec(String(body.model));
    if (status === null) return answer(body as MessagesBody, response);
    const code = Number(status[1]);
    fail(response, code, code === 401 ? `invalid x-api-key: ${key}` : `mock failure ${code}`);
  });
}

/** count_tokens: always ANTHROPIC_MOCK_COUNT, so a test can tell the vendor's count from an estimate. */
function countTokens(keyAccepted: boolean, response: ServerResponse): void {
  if (!keyAccepted) {
    fail(response, 401, "invalid x-api-key");
    return;
  }
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify({ input_tokens: ANTHROPIC_MOCK_COUNT }));
}

function fail(response: ServerResponse, status: number, message: string): void {
  const type = ERROR_TYPE_BY_STATUS[status] ?? "api_error";
  response.writeHead(status, {
    "content-type": "application/json",
    "request-id": "req_011MockError",
    ...(status === 429 || status === 529 ? { "retry-after": "0" } : {}),
  });
  response.end(JSON.stringify({ type: "error", error: { type, message }, request_id: "req_011MockError" }));
}

/** The checks Anthropic makes that a translation bug would trip (each answered 400 like the real API). */
function validate(body: MessagesBody): string | undefined {
  if (typeof body.model !== "string") return "model: Field required";
  if (typeof body.max_tokens !== "number") return "max_tokens: Field required";
  if (body.stream !== true) return "this mock only streams: stream must be true";
  const messages = body.messages ?? [];
  if (messages.length === 0) return "messages: at least one message is required";
  for (const [index, message] of messages.entries()) {
    const expected = index % 2 === 0 ? "user" : "assistant";
    if (message.role !== expected) return `messages.${index}: roles must alternate, starting with user`;
    const pending = toolUseIds(message.content);
    if (pending.length === 0) continue;
    const answered = new Set(toolResultIds(messages[index + 1]?.content));
    if (pending.some((id) => !answered.has(id))) {
      return `messages.${index}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after`;
    }
  }
  return undefined;
}

function blocksOf(content: string | readonly Block[] | undefined): readonly Block[] {
  if (content === undefined) return [];
  return typeof content === "string" ? [{ type: "text", text: content }] : content;
}

function toolUseIds(content: string | readonly Block[] | undefined): string[] {
  return blocksOf(content).flatMap((block) => (block.type === "tool_use" && block.id ? [block.id] : []));
}

function toolResultIds(content: string | readonly Block[] | undefined): string[] {
  return blocksOf(content).flatMap((block) =>
    block.type === "tool_result" && block.tool_use_id ? [block.tool_use_id] : [],
  );
}

function answer(body: MessagesBody, response: ServerResponse): void {
  const model = String(body.model);
  response.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "request-id": "req_011MockStream",
  });
  const send: Send = (event, data) => response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send("message_start", {
    type: "message_start",
    message: {
      id: "msg_01MockMessage",
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...ANTHROPIC_MOCK_USAGE, output_tokens: 1 },
    },
  });
  if (model === "midstream-error") {
    sendText(send, 0, ANTHROPIC_MOCK_PARTIAL_TEXT);
    send("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
    response.end();
    return;
  }
  const messages = body.messages ?? [];
  const lastContent = blocksOf(messages.at(-1)?.content);
  const results = lastContent.filter((block) => block.type === "tool_result");
  const tools = body.tools ?? [];
  let stopReason = "end_turn";
  if (results.length > 0) {
    sendBlock(
      send,
      0,
      { type: "text", text: "" },
      textDeltas(`Tool results: ${results.map(resultText).join(" | ")}`),
    );
  } else if (tools.length > 0) {
    sendToolUses(send, tools);
    stopReason = "tool_use";
  } else {
    const text = lastContent.map((block) => (block.type === "text" ? (block.text ?? "") : "")).join("");
    sendText(send, 0, text);
  }
  send("message_delta", {
    type: "message_delta",
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: ANTHROPIC_MOCK_USAGE,
  });
  send("message_stop", { type: "message_stop" });
  response.end();
}

function resultText(block: Block): string {
  return blocksOf(block.content)
    .map((part) => part.text ?? "")
    .join("");
}

/** One text block streamed in 4-character pieces, with a ping in the middle as the real API does. */
function sendText(send: Send, index: number, text: string): void {
  sendBlock(send, index, { type: "text", text: "" }, textDeltas(text));
}

function textDeltas(text: string): object[] {
  return split(text, 4).map((piece) => ({ type: "text_delta", text: piece }));
}

function sendToolUses(send: Send, tools: readonly { name: string }[]): void {
  sendText(send, 0, ANTHROPIC_MOCK_TOOL_PREAMBLE);
  for (const [position, tool] of tools.slice(0, 2).entries()) {
    const use = ANTHROPIC_MOCK_TOOL_USES[position];
    if (use === undefined) break;
    // The first fragment of a real tool_use is "" (recorded); the rest are a few characters each.
    const fragments = ["", ...split(use.partialJson, 5)].map((piece) => ({
      type: "input_json_delta",
      partial_json: piece,
    }));
    sendBlock(send, position + 1, { type: "tool_use", id: use.id, name: tool.name, input: {} }, fragments);
  }
}

function sendBlock(send: Send, index: number, contentBlock: object, deltas: readonly object[]): void {
  send("content_block_start", { type: "content_block_start", index, content_block: contentBlock });
  for (const [position, delta] of deltas.entries()) {
    send("content_block_delta", { type: "content_block_delta", index, delta });
    if (position === 0) send("ping", { type: "ping" });
  }
  send("content_block_stop", { type: "content_block_stop", index });
}

function split(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}
