/**
 * A mock Anthropic Messages API with extended thinking and tools that refuses a tool loop's second step exactly as
 * Anthropic does. With `thinking: {type: "enabled"}`:
 * - the last assistant turn, when it holds tool_use, must lead with a thinking or redacted_thinking block, else
 *   400 invalid_request_error "Expected `thinking` or `redacted_thinking`, but found `tool_use`…";
 * - every thinking block sent back must carry the signature this mock issued for exactly that text, and every
 *   redacted_thinking block the data it issued, else 400 "Invalid `signature` in `thinking` block".
 * Answers stream (the adapter always streams): to a request offering tools whose last user turn holds no
 * tool_result, a thinking block (thinking_delta pieces, then signature_delta), a redacted_thinking block and one
 * tool_use (stop_reason tool_use); to tool results, a text answer quoting them. Without thinking the same, minus
 * the thinking blocks.
 * @see https://platform.claude.com/docs/en/build-with-claude/extended-thinking#extended-thinking-with-tool-use
 * @see https://platform.claude.com/docs/en/build-with-claude/streaming
 */
import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";
import { type MockUpstream, startMockUpstream } from "./mock-server.ts";

export const THINKING_TEXT = "The user wants the weather in Paris; I should call the tool.";
export const THINKING_TOOL_ID = "toolu_01ThinkingWeather";
export const THINKING_TOOL_ARGS = '{"city":"Paris"}';

interface Block {
  readonly type: string;
  readonly thinking?: string;
  readonly signature?: string;
  readonly data?: string;
  readonly text?: string;
  readonly content?: string | readonly Block[];
}

interface Body {
  readonly thinking?: { readonly type?: string };
  readonly messages?: readonly { readonly role: string; readonly content: string | readonly Block[] }[];
  readonly tools?: readonly { readonly name: string }[];
}

/** The mock and what it issued. */
export interface ThinkingAnthropicMock extends MockUpstream {
  /** Signatures issued, each with the thinking text it signs. */
  readonly signatures: ReadonlyMap<string, string>;
  /** While on, every request gets 529 overloaded_error (to drive a fallback). */
  setOverloaded(on: boolean): void;
}

export async function startThinkingAnthropicMock(): Promise<ThinkingAnthropicMock> {
  const signatures = new Map<string, string>();
  const redacted = new Set<string>();
  let overloaded = false;
  const mock = await startMockUpstream("/v1", (recorded, _request, response) => {
    const body = recorded.body as Body;
    if (overloaded) {
      response.writeHead(529, { "content-type": "application/json" });
      response.end(
        JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
      );
      return;
    }
    const refusal = body.thinking?.type === "enabled" ? checkThinking(body, signatures, redacted) : undefined;
    if (refusal !== undefined) {
      response.writeHead(400, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          type: "error",
          error: { type: "invalid_request_error", message: refusal },
          request_id: "req_011MockThinking",
        }),
      );
      return;
    }
    answer(body, response, signatures, redacted);
  });
  return {
    ...mock,
    signatures,
    setOverloaded: (on) => {
      overloaded = on;
    },
  };
}

function blocksOf(content: string | readonly Block[] | undefined): readonly Block[] {
  return typeof content === "string" || content === undefined ? [] : content;
}

function checkThinking(
  body: Body,
  signatures: ReadonlyMap<string, string>,
  redacted: ReadonlySet<string>,
): string | undefined {
  const messages = body.messages ?? [];
  for (const [position, message] of messages.entries()) {
    for (const [index, block] of blocksOf(message.content).entries()) {
      const where = `messages.${position}.content.${index}`;
      if (block.type === "thinking" && signatures.get(block.signature ?? "") !== block.thinking) {
        return `${where}: Invalid \`signature\` in \`thinking\` block`;
      }
      if (block.type === "redacted_thinking" && !redacted.has(block.data ?? "")) {
        return `${where}: Invalid \`data\` in \`redacted_thinking\` block`;
      }
    }
  }
  const lastAssistant = messages.findLastIndex((message) => message.role === "assistant");
  const blocks = blocksOf(messages[lastAssistant]?.content);
  const first = blocks[0]?.type;
  if (
    blocks.some((block) => block.type === "tool_use") &&
    first !== "thinking" &&
    first !== "redacted_thinking"
  ) {
    return (
      `messages.${lastAssistant}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found ` +
      `\`${first}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block ` +
      "(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking " +
      "blocks from previous turns. To avoid this requirement, disable `thinking`."
    );
  }
  return undefined;
}

type Send = (event: string, data: object) => void;

function answer(
  body: Body,
  response: ServerResponse,
  signatures: Map<string, string>,
  redacted: Set<string>,
): void {
  response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
  const send: Send = (event, data) => response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send("message_start", {
    type: "message_start",
    message: {
      id: `msg_01Thinking${signatures.size}`,
      type: "message",
      role: "assistant",
      model: "claude-mock",
      content: [],
      usage: { input_tokens: 20, output_tokens: 1 },
    },
  });
  const thinking = body.thinking?.type === "enabled";
  const last = blocksOf(body.messages?.at(-1)?.content);
  const results = last.filter((block) => block.type === "tool_result");
  let index = 0;
  let stopReason = "end_turn";
  if (results.length === 0 && (body.tools?.length ?? 0) > 0) {
    if (thinking) {
      // Real signatures are long opaque base64; this one is too, and bound to the text it signs.
      const signature = `Eu${createHash("sha512").update(`${THINKING_TEXT}${signatures.size}`).digest("base64").repeat(4)}`;
      signatures.set(signature, THINKING_TEXT);
      sendBlock(send, index++, { type: "thinking", thinking: "", signature: "" }, [
        ...pieces(THINKING_TEXT, 16).map((text) => ({ type: "thinking_delta", thinking: text })),
        { type: "signature_delta", signature },
      ]);
      const data = `EmwKAhgBEgy${createHash("sha256").update(`redacted${redacted.size}`).digest("base64url")}`;
      redacted.add(data);
      sendBlock(send, index++, { type: "redacted_thinking", data }, []);
    }
    const tool = body.tools?.[0]?.name ?? "weather";
    sendBlock(send, index++, { type: "tool_use", id: THINKING_TOOL_ID, name: tool, input: {} }, [
      { type: "input_json_delta", partial_json: THINKING_TOOL_ARGS },
    ]);
    stopReason = "tool_use";
  } else {
    const quoted = results
      .map((block) => (typeof block.content === "string" ? block.content : ""))
      .join(" | ");
    sendBlock(send, index++, { type: "text", text: "" }, [
      { type: "text_delta", text: `Tool results: ${quoted}` },
    ]);
  }
  send("message_delta", {
    type: "message_delta",
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { input_tokens: 20, output_tokens: 30 },
  });
  send("message_stop", { type: "message_stop" });
  response.end();
}

function sendBlock(send: Send, index: number, contentBlock: object, deltas: readonly object[]): void {
  send("content_block_start", { type: "content_block_start", index, content_block: contentBlock });
  for (const delta of deltas) send("content_block_delta", { type: "content_block_delta", index, delta });
  send("content_block_stop", { type: "content_block_stop", index });
}

function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let start = 0; start < text.length; start += size) out.push(text.slice(start, start + size));
  return out;
}
