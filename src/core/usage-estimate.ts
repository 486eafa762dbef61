/**
 * The gateway's own token estimate, for what no vendor counted: the prompt of a stream that ended before the
 * vendor's usage arrived (abandoned, failed, or a vendor that reports none), the output streamed so far, and the
 * Messages edge's count_tokens for vendors without a count endpoint. One token per 4 characters of text or JSON
 * (the usual rule of thumb for English and code), plus a few tokens per message and tool for their framing, and
 * a fixed ~1,600 per image (Anthropic's cost of a 1.15-megapixel image). Cheap on purpose: it runs per request.
 */
import type { ChatMessage, ChatRequest, Usage } from "./types.ts";

export const CHARS_PER_TOKEN = 4;
export const TOKENS_PER_MESSAGE = 4;
export const TOKENS_PER_TOOL = 8;
export const TOKENS_PER_IMAGE = 1_600;

/** Tokens of `chars` characters of text. */
export function tokensOfChars(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/** The prompt tokens `request` would cost: its messages and its tools. */
export function estimatePromptTokens(request: ChatRequest): number {
  let chars = 0;
  let extra = 0;
  for (const message of request.messages) {
    extra += TOKENS_PER_MESSAGE;
    chars += messageChars(message);
    if (Array.isArray(message.content)) {
      for (const part of message.content) if (part.type === "image_url") extra += TOKENS_PER_IMAGE;
    }
  }
  for (const tool of request.tools ?? []) {
    extra += TOKENS_PER_TOOL;
    chars += tool.name.length + (tool.description?.length ?? 0);
    if (tool.parameters !== undefined) chars += JSON.stringify(tool.parameters).length;
  }
  return tokensOfChars(chars) + extra;
}

function messageChars(message: ChatMessage): number {
  let chars = message.reasoningContent?.length ?? 0;
  const content = message.content;
  if (typeof content === "string") chars += content.length;
  else if (content !== null) {
    for (const part of content) if (part.type === "text") chars += part.text.length;
  }
  for (const call of message.toolCalls ?? []) chars += call.name.length + call.arguments.length;
  return chars;
}

/** The usage of a call the vendor did not count: `promptTokens` estimated, `streamedChars` of output. */
export function estimatedUsage(promptTokens: number, streamedChars: number): Usage {
  const completionTokens = tokensOfChars(streamedChars);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}
