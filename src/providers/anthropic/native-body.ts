/**
 * What an Anthropic upstream receives of a Messages client's own body (DESIGN-2 section 2: `native`): the body as
 * it came, with the routed model id, and its `anthropic-beta`. One exception: an assistant `thinking` block with no
 * signature (the gateway answers an empty one when another vendor did the thinking, e.g. after a fallback) is
 * left out, since Anthropic refuses any thinking block it did not sign and the turn would fail with a 400.
 */
import type { JsonObject, JsonValue } from "../../core/types.ts";

/**
 * A Messages client's own body (DESIGN-2 section 2: `native`), sent as it came with the routed model id; the
 * adapter always streams (a non-streaming client gets the stream aggregated), so `stream` is true.
 */
export function nativeBody(body: JsonObject, upstreamModel: string): JsonObject {
  const messages = withoutUnsignedThinking(body.messages);
  return {
    ...body,
    model: upstreamModel,
    stream: true,
    ...(messages === undefined ? {} : { messages }),
  };
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
