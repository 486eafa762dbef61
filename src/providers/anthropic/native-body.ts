/**
 * What an Anthropic upstream receives of a Messages client's own body (DESIGN-2 section 2: `native`): the body as
 * it came, with the routed model id, and its `anthropic-beta`. One exception: an assistant `thinking` block with no
 * signature (the gateway answers an empty one when another vendor did the thinking, e.g. after a fallback) is
 * left out, since Anthropic refuses any thinking block it did not sign and the turn would fail with a 400. When
 * that leaves a tool loop's last assistant turn without its leading thinking (another vendor made the turn: a
 * fallback or a model switch), that one step goes without `thinking`, which Anthropic accepts, as the translated
 * request does (./to-request.ts).
 */
import { isJsonObject } from "../../core/json-object.ts";
import type { JsonObject, JsonValue } from "../../core/types.ts";

/**
 * A Messages client's own body (DESIGN-2 section 2: `native`), sent as it came with the routed model id; the
 * adapter always streams (a non-streaming client gets the stream aggregated), so `stream` is true.
 */
export function nativeBody(body: JsonObject, upstreamModel: string): JsonObject {
  const messages = withoutUnsignedThinking(body.messages);
  const native: JsonObject = {
    ...body,
    model: upstreamModel,
    stream: true,
    ...(messages === undefined ? {} : { messages }),
  };
  if (native.thinking !== undefined && !leadsWithThinking(native.messages)) delete native.thinking;
  return native;
}

/**
 * Whether the last assistant turn, when it holds tool_use, leads with a thinking or redacted_thinking block, as
 * Anthropic requires with thinking on (a turn without tool_use needs none).
 * @see https://platform.claude.com/docs/en/build-with-claude/extended-thinking#extended-thinking-with-tool-use
 */
function leadsWithThinking(messages: JsonValue | undefined): boolean {
  if (!Array.isArray(messages)) return true;
  const last = messages.findLast(
    (message): message is JsonObject => isJsonObject(message) && message.role === "assistant",
  );
  const content = last?.content;
  if (!Array.isArray(content)) return true;
  const isBlock = (block: JsonValue, type: string): boolean => isJsonObject(block) && block.type === type;
  if (!content.some((block) => isBlock(block, "tool_use"))) return true;
  const first = content[0];
  return first !== undefined && (isBlock(first, "thinking") || isBlock(first, "redacted_thinking"));
}

/** The messages without unsigned thinking blocks; undefined when there are none (the common case: no copy). */
function withoutUnsignedThinking(messages: JsonValue | undefined): JsonValue[] | undefined {
  if (!Array.isArray(messages) || !messages.some(hasUnsignedThinking)) return undefined;
  return messages.map((message) => {
    if (!hasUnsignedThinking(message)) return message;
    const { content } = message as { content: JsonValue[] };
    return { ...(message as JsonObject), content: content.filter((block) => !isUnsignedThinking(block)) };
  });
}

function hasUnsignedThinking(message: JsonValue): boolean {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return false;
  return (
    message.role === "assistant" && Array.isArray(message.content) && message.content.some(isUnsignedThinking)
  );
}

function isUnsignedThinking(block: JsonValue): boolean {
  if (typeof block !== "object" || block === null || Array.isArray(block) || block.type !== "thinking")
    return false;
  return typeof block.signature !== "string" || block.signature === "";
}

/**
 * The client's `anthropic-beta` joined to a configured one (both are comma-separated lists the vendor unions), so
 * neither the operator's nor Claude Code's betas are lost.
 */
export function nativeHeaders(
  headers: Readonly<Record<string, string>>,
  base: Readonly<Record<string, string>>,
): Record<string, string> {
  const beta = headers["anthropic-beta"];
  if (beta === undefined) return {};
  const configured = base["anthropic-beta"];
  return { "anthropic-beta": configured === undefined ? beta : `${configured},${beta}` };
}
