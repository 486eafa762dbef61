/**
 * Canonical answers → Anthropic `message` objects: the whole answer for a non-streaming call, and the pieces the
 * stream encoder (./sse-encoder.ts) shares with it (ids, stop reason, usage).
 * @see https://platform.claude.com/docs/en/api/messages
 */
import type { ReasoningSeal } from "../core/reasoning-seal.ts";
import type {
  ChatChoiceResult,
  ChatResult,
  FinishReason,
  JsonValue,
  ReasoningBlock,
  ReasoningState,
  Usage,
} from "../core/types.ts";
import { toToolUseId } from "./tool-ids.ts";

/** Anthropic's usage object. `input_tokens` excludes the cache's reads and writes, which are counted apart. */
export interface AnthropicUsage {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cache_read_input_tokens: number;
  readonly cache_creation_input_tokens: number;
}

/** The `msg_…` id of an answer, from the core's completion id. */
export function messageId(id: string): string {
  return id.startsWith("msg_") ? id : `msg_${id.replace(/^chatcmpl-/, "")}`;
}

/**
 * The stop reason: `tool_use` whenever the turn made tool calls (whatever the upstream said: OpenAI-compatible
 * vendors often say `stop`), `max_tokens` for a cut answer, `stop_sequence` when the vendor said so, `refusal` for
 * a content filter, else `end_turn`.
 */
export function stopReasonOf(reason: FinishReason, rawReason: string | null, madeToolCalls: boolean): string {
  if (madeToolCalls || reason === "tool_calls") return "tool_use";
  if (reason === "length") return "max_tokens";
  if (reason === "content_filter") return "refusal";
  if (rawReason === "stop_sequence" || rawReason === "pause_turn" || rawReason === "refusal")
    return rawReason;
  return "end_turn";
}

/** Canonical usage (OpenAI's way: the cache inside the prompt) → Anthropic's. */
export function toAnthropicUsage(usage: Usage | undefined): AnthropicUsage {
  const cacheRead = usage?.cachedTokens ?? 0;
  const cacheWrite = usage?.cacheWriteTokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.promptTokens ?? 0) - cacheRead - cacheWrite),
    output_tokens: usage?.completionTokens ?? 0,
    cache_read_input_tokens: cacheRead,
    cache_creation_input_tokens: cacheWrite,
  };
}

/** A tool call's JSON arguments as the `input` object (an unparsable string is kept whole under `_raw`). */
export function toolInput(args: string): JsonValue {
  if (args.trim() === "") return {};
  try {
    const input = JSON.parse(args) as JsonValue;
    return typeof input === "object" && input !== null && !Array.isArray(input) ? input : { _raw: args };
  } catch {
    return { _raw: args };
  }
}

/** An Anthropic reasoning block as the Messages API writes it. */
function anthropicBlock(block: ReasoningBlock): JsonValue {
  return block.type === "thinking"
    ? { type: "thinking", thinking: block.thinking, signature: block.signature }
    : { type: "redacted_thinking", data: block.data };
}

/**
 * Another vendor's state (Gemini's signatures) sealed for a thinking block's signature; undefined without any.
 * Anthropic's blocks are never sealed here: the client holds them as blocks.
 */
export function sealedForeignState(
  seal: ReasoningSeal,
  state: ReasoningState | undefined,
): string | undefined {
  if (state === undefined) return undefined;
  const { blocks: _own, ...foreign } = state;
  return foreign.textSignature === undefined && foreign.toolSignatures === undefined
    ? undefined
    : seal.seal(foreign);
}

/** The whole answer (choice 0: the Messages API has one); `seal` seals another vendor's reasoning state. */
export function toAnthropicMessage(result: ChatResult, seal?: ReasoningSeal): Record<string, JsonValue> {
  const choice = result.choices[0];
  return {
    id: messageId(result.id),
    type: "message",
    role: "assistant",
    model: result.model,
    content: choice === undefined ? [] : contentOf(choice, seal),
    stop_reason:
      choice === undefined
        ? "end_turn"
        : stopReasonOf(choice.finishReason, choice.rawFinishReason, choice.toolCalls.length > 0),
    stop_sequence: null,
    usage: { ...toAnthropicUsage(result.usage) },
  };
}

/**
 * Reasoning first: Anthropic's own blocks as it sent them (thinking with its signature, redacted_thinking), or
 * one thinking block with the reasoning text whose signature is the other vendor's state, sealed (empty when it
 * has none, as for DeepSeek's reasoning_content, which goes back as the text).
 */
function contentOf(choice: ChatChoiceResult, seal: ReasoningSeal | undefined): JsonValue[] {
  const blocks: JsonValue[] = [];
  const state = choice.reasoningState;
  if (state?.blocks !== undefined && state.blocks.length > 0) {
    blocks.push(...state.blocks.map(anthropicBlock));
  } else {
    const carrier = seal === undefined ? undefined : sealedForeignState(seal, state);
    if (choice.reasoningContent || carrier !== undefined) {
      blocks.push({
        type: "thinking",
        thinking: choice.reasoningContent ?? "",
        signature: carrier ?? choice.reasoningSignature ?? "",
      });
    }
  }
  const text = choice.content ?? choice.refusal ?? "";
  // No empty text block before tool calls (nor alone when there are calls).
  if (text !== "" || choice.toolCalls.length === 0) blocks.push({ type: "text", text });
  for (const call of choice.toolCalls) {
    blocks.push({
      type: "tool_use",
      id: toToolUseId(call.id),
      name: call.name,
      input: toolInput(call.arguments),
    });
  }
  return blocks;
}
