/**
 * `POST /v1/messages/count_tokens` for upstreams that have no such endpoint: an estimate of the prompt's input
 * tokens. It counts what the model would read: the system prompt, every message's text, tool calls' names and
 * inputs, tool results, and the tools' names, descriptions and schemas, by the rule of the gateway's other
 * estimates (src/core/usage-estimate.ts): one token per 4 characters of text or JSON, a few tokens per message
 * and tool for their framing, and a fixed ~1,600 per image.
 */
import {
  TOKENS_PER_IMAGE as PER_IMAGE,
  TOKENS_PER_MESSAGE as PER_MESSAGE,
  TOKENS_PER_TOOL as PER_TOOL,
  tokensOfChars,
} from "../core/usage-estimate.ts";
import type { MessagesRequestBody } from "./request-schema.ts";

/** The estimate `{input_tokens}` answers with. */
export function estimateInputTokens(
  request: Pick<MessagesRequestBody, "system" | "messages" | "tools">,
): number {
  let chars = 0;
  let extra = 0;
  if (request.system !== undefined) {
    chars += typeof request.system === "string" ? request.system.length : textLength(request.system);
  }
  for (const message of request.messages) {
    extra += PER_MESSAGE;
    if (typeof message.content === "string") {
      chars += message.content.length;
      continue;
    }
    for (const block of message.content) {
      if (block.type === "image") extra += PER_IMAGE;
      else chars += blockChars(block as Record<string, unknown>);
    }
  }
  for (const tool of request.tools ?? []) {
    extra += PER_TOOL;
    chars += JSON.stringify(tool).length;
  }
  return tokensOfChars(chars) + extra;
}

function textLength(blocks: readonly { readonly text: string }[]): number {
  return blocks.reduce((sum, block) => sum + block.text.length, 0);
}

/** The characters the model reads of one block: its text, or its JSON for the structured ones. */
function blockChars(block: Record<string, unknown>): number {
  if (typeof block.text === "string") return block.text.length;
  if (typeof block.thinking === "string") return block.thinking.length;
  if (block.type === "tool_result" && typeof block.content === "string") return block.content.length;
  return JSON.stringify(block).length;
}
