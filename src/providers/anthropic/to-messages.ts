/**
 * Canonical messages → Anthropic `system` + `messages`. Anthropic has no system role (system and developer
 * text goes to the top-level `system`), only two alternating roles, tool calls as `tool_use` blocks and tool
 * results as `tool_result` blocks inside a user message.
 * @see https://platform.claude.com/docs/en/api/messages
 * @see https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use
 */
import { ProxyError } from "../../core/errors.ts";
import type { ChatMessage, ContentPart, JsonObject, ReasoningBlock, ToolCall } from "../../core/types.ts";

/** A text block (request side). */
export interface AnthropicTextBlock {
  readonly type: "text";
  readonly text: string;
}

/** An image block: base64 data or a URL Anthropic fetches itself. */
export interface AnthropicImageBlock {
  readonly type: "image";
  readonly source:
    | { readonly type: "base64"; readonly media_type: string; readonly data: string }
    | { readonly type: "url"; readonly url: string };
}

/** An assistant's tool call. */
export interface AnthropicToolUseBlock {
  readonly type: "tool_use";
  readonly id: string;
  readonly name: string;
  readonly input: JsonObject;
}

/** The answer to one tool call, inside a user message. */
export interface AnthropicToolResultBlock {
  readonly type: "tool_result";
  readonly tool_use_id: string;
  readonly content?: string | readonly (AnthropicTextBlock | AnthropicImageBlock)[];
}

/** Any request content block we send. Thinking blocks are the vendor's own, returned as it sent them. */
export type AnthropicContentBlock =
  | ReasoningBlock
  | AnthropicTextBlock
  | AnthropicImageBlock
  | AnthropicToolUseBlock
  | AnthropicToolResultBlock;

/** One turn of the conversation. */
export interface AnthropicMessage {
  readonly role: "user" | "assistant";
  readonly content: readonly AnthropicContentBlock[];
}

/** The converted conversation. */
export interface AnthropicConversation {
  readonly system: readonly AnthropicTextBlock[];
  readonly messages: readonly AnthropicMessage[];
}

/** Image types Anthropic accepts as base64. */
const IMAGE_MEDIA_TYPES: ReadonlySet<string> = new Set([
  "image/jpeg",
  "image/png",
  "image/gif",
  "image/webp",
]);

/**
 * Converts the conversation. System and developer messages are hoisted into `system` in order, wherever they
 * stand; consecutive turns of one role are merged (tool results count as user turns), because Anthropic
 * wants alternating roles and all tool results of a turn in the one user message that follows it.
 */
export function convertToAnthropicConversation(messages: readonly ChatMessage[]): AnthropicConversation {
  const system: AnthropicTextBlock[] = [];
  const turns: { role: "user" | "assistant"; content: AnthropicContentBlock[] }[] = [];
  const append = (role: "user" | "assistant", blocks: readonly AnthropicContentBlock[]): void => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: [...blocks] });
  };
  for (const [position, message] of messages.entries()) {
    const path = `messages[${position}]`;
    switch (message.role) {
      case "system":
      case "developer":
        system.push(...convertSystemContent(message, path));
        break;
      case "user":
        append("user", convertUserContent(message.content, path));
        break;
      case "assistant":
        append("assistant", convertAssistantMessage(message, path));
        break;
      case "tool":
        append("user", [convertToolMessage(message, path)]);
        break;
    }
  }
  return { system, messages: turns.map(orderToolResultsFirst) };
}

function convertSystemContent(message: ChatMessage, path: string): AnthropicTextBlock[] {
  return textBlocks(message.content, path, `${message.role} messages may only contain text`);
}

function convertUserContent(content: ChatMessage["content"], path: string): AnthropicContentBlock[] {
  if (content === null) return [];
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  const blocks: AnthropicContentBlock[] = [];
  for (const [position, part] of content.entries()) {
    const block = convertPart(part, `${path}.content[${position}]`);
    if (block !== undefined) blocks.push(block);
  }
  return blocks;
}

/**
 * Thinking blocks first (the turn's reasoning state, when this provider and model produced it), then text, then
 * one tool_use per call: the order Anthropic itself produces, and the one it checks in a tool loop.
 */
function convertAssistantMessage(message: ChatMessage, path: string): AnthropicContentBlock[] {
  const blocks: AnthropicContentBlock[] = [
    ...(message.reasoningState?.blocks ?? []),
    ...textBlocks(message.content, path, "assistant messages may only contain text"),
  ];
  for (const [position, call] of (message.toolCalls ?? []).entries()) {
    blocks.push(convertToolCall(call, `${path}.tool_calls[${position}]`));
  }
  return blocks;
}

function convertToolCall(call: ToolCall, path: string): AnthropicToolUseBlock {
  return { type: "tool_use", id: call.id, name: call.name, input: parseToolArguments(call.arguments, path) };
}

/** OpenAI carries arguments as a JSON string; Anthropic wants the object. "" means no arguments. */
function parseToolArguments(text: string, path: string): JsonObject {
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid(`${path}.function.arguments`, "tool call arguments are not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw invalid(`${path}.function.arguments`, "tool call arguments must be a JSON object");
  }
  return parsed as JsonObject;
}

function convertToolMessage(message: ChatMessage, path: string): AnthropicToolResultBlock {
  if (message.toolCallId === undefined || message.toolCallId === "") {
    throw invalid(`${path}.tool_call_id`, "tool messages need the tool_call_id they answer");
  }
  const content = message.content;
  if (content === null || content === "") return { type: "tool_result", tool_use_id: message.toolCallId };
  if (typeof content === "string") return { type: "tool_result", tool_use_id: message.toolCallId, content };
  const parts: (AnthropicTextBlock | AnthropicImageBlock)[] = [];
  for (const [position, part] of content.entries()) {
    const block = convertPart(part, `${path}.content[${position}]`);
    if (block !== undefined) parts.push(block);
  }
  return {
    type: "tool_result",
    tool_use_id: message.toolCallId,
    ...(parts.length > 0 ? { content: parts } : {}),
  };
}

/** Anthropic rejects empty text blocks, so empty text parts are dropped. */
function convertPart(part: ContentPart, path: string): AnthropicTextBlock | AnthropicImageBlock | undefined {
  if (part.type === "text") return part.text === "" ? undefined : { type: "text", text: part.text };
  return { type: "image", source: convertImageSource(part.url, `${path}.image_url.url`) };
}

/** `data:<media type>;base64,<data>` becomes a base64 source; http(s) URLs are fetched by Anthropic. */
function convertImageSource(url: string, path: string): AnthropicImageBlock["source"] {
  if (url.startsWith("http://") || url.startsWith("https://")) return { type: "url", url };
  if (!url.startsWith("data:")) throw invalid(path, "images must be http(s) URLs or base64 data URLs");
  const comma = url.indexOf(",");
  const header = comma < 0 ? "" : url.slice("data:".length, comma);
  if (!header.endsWith(";base64")) throw invalid(path, "data URLs must be base64-encoded");
  const declared = header.slice(0, -";base64".length).toLowerCase();
  // "image/jpg" is not a registered type but browsers and SDKs produce it.
  const mediaType = declared === "image/jpg" ? "image/jpeg" : declared;
  if (!IMAGE_MEDIA_TYPES.has(mediaType)) {
    throw invalid(path, `image type '${mediaType}' is not supported (jpeg, png, gif, webp)`);
  }
  return { type: "base64", media_type: mediaType, data: url.slice(comma + 1) };
}

function textBlocks(content: ChatMessage["content"], path: string, imageError: string): AnthropicTextBlock[] {
  if (content === null || content === "") return [];
  if (typeof content === "string") return [{ type: "text", text: content }];
  const blocks: AnthropicTextBlock[] = [];
  for (const [position, part] of content.entries()) {
    if (part.type !== "text") throw invalid(`${path}.content[${position}]`, imageError);
    if (part.text !== "") blocks.push({ type: "text", text: part.text });
  }
  return blocks;
}

/** Anthropic wants a user turn's tool_result blocks before any other content; the relative order is kept. */
function orderToolResultsFirst(turn: AnthropicMessage): AnthropicMessage {
  if (turn.role !== "user") return turn;
  const results = turn.content.filter((block) => block.type === "tool_result");
  if (results.length === 0 || results.length === turn.content.length) return turn;
  return {
    role: "user",
    content: [...results, ...turn.content.filter((block) => block.type !== "tool_result")],
  };
}

function invalid(param: string, message: string): ProxyError {
  return new ProxyError("invalid_request", `${param}: ${message} (Anthropic).`, { param });
}
