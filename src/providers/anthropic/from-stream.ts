/**
 * Anthropic Messages SSE events → canonical chunks. A loop over events that hands each one to a small named
 * function; the state between events is one typed object.
 *
 * Event order: message_start, then per content block start → deltas → stop, then message_delta (stop reason,
 * cumulative usage) and message_stop. `ping` can come anywhere; `error` can come after a 200.
 * @see https://platform.claude.com/docs/en/build-with-claude/streaming
 */
import { ProxyError } from "../../core/errors.ts";
import type { ChatChunk, ReasoningBlock, Usage } from "../../core/types.ts";
import type { SseEvent } from "../sse.ts";
import { mapAnthropicStreamError } from "./error-map.ts";
import { mapAnthropicStopReason } from "./finish-reason.ts";
import {
  type AnthropicUsage,
  anthropicEventTypeSchema,
  contentBlockDeltaSchema,
  contentBlockStartSchema,
  contentBlockStopSchema,
  messageDeltaSchema,
  messageStartSchema,
  redactedThinkingBlockSchema,
  thinkingBlockSchema,
  toolUseBlockSchema,
} from "./wire.ts";

/** Anthropic has no multiple candidates: everything belongs to choice 0. */
const CHOICE = 0;

/** What we remember about one open content block, by Anthropic's block index. */
interface BlockState {
  readonly kind: "text" | "thinking" | "redacted_thinking" | "tool" | "other";
  /**
   * Thinking blocks: the whole block as it must go back on the next turn of a tool loop (Anthropic checks the
   * signature against the text), emitted as reasoning state when the block stops.
   */
  readonly reasoning?: { thinking: string; signature: string } | { data: string };
  /** For tool blocks: the canonical tool-call index (tool_use blocks counted from 0, other blocks skipped). */
  readonly toolIndex: number;
  /** For tool blocks: whether any non-empty argument fragment was sent. */
  hasArguments: boolean;
  /** For tool blocks: the start's `input` when it was not the usual `{}`, sent if no delta comes. */
  readonly initialArguments: string | undefined;
}

/** Token counts as last reported (Anthropic's values are cumulative, so the later one wins). */
interface UsageCounts {
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
  thinking: number | undefined;
  reported: boolean;
}

interface StreamState {
  started: boolean;
  stopped: boolean;
  readonly blocks: Map<number, BlockState>;
  toolCount: number;
  /** undefined until message_delta arrives. */
  stopReason: string | null | undefined;
  readonly usage: UsageCounts;
  /** Whether signature_delta is passed on (only the Messages edge can return it to its client). */
  readonly signatures: boolean;
}

const NOTHING: readonly ChatChunk[] = [];

/** Events that are only valid after message_start. */
const BODY_EVENTS: ReadonlySet<string> = new Set([
  "content_block_start",
  "content_block_delta",
  "content_block_stop",
  "message_delta",
  "message_stop",
]);

/** Events whose data we read; others (ping, newer types) are skipped unparsed. */
const READ_EVENTS: ReadonlySet<string> = new Set([...BODY_EVENTS, "message_start", "error"]);

/**
 * Translates an Anthropic event stream; throws ProxyError on error events and protocol violations. `signatures`:
 * thinking signatures become empty reasoning deltas carrying them (for a client of the Messages edge).
 */
export async function* parseAnthropicStream(
  events: AsyncIterable<SseEvent>,
  secret?: string,
  signatures = false,
): AsyncGenerator<ChatChunk> {
  const state: StreamState = {
    started: false,
    stopped: false,
    blocks: new Map(),
    toolCount: 0,
    stopReason: undefined,
    usage: { input: 0, output: 0, cacheRead: 0, cacheCreation: 0, thinking: undefined, reported: false },
    signatures,
  };
  for await (const event of events) {
    if (event.event !== undefined && !READ_EVENTS.has(event.event)) continue;
    const data = parseEventData(event.data);
    const type = event.event ?? readEventType(data);
    if (type === "error") throw mapAnthropicStreamError(data, secret);
    yield* handleEvent(type, data, state);
    if (state.stopped) return;
  }
  throw protocolError("the stream ended before message_stop");
}

function handleEvent(type: string, data: unknown, state: StreamState): readonly ChatChunk[] {
  if (!state.started && BODY_EVENTS.has(type)) {
    throw protocolError(`${type} arrived before message_start`);
  }
  switch (type) {
    case "message_start":
      return handleMessageStart(data, state);
    case "content_block_start":
      return handleBlockStart(data, state);
    case "content_block_delta":
      return handleBlockDelta(data, state);
    case "content_block_stop":
      return handleBlockStop(data, state);
    case "message_delta":
      return handleMessageDelta(data, state);
    case "message_stop":
      return handleMessageStop(state);
    default:
      // Events sent without an `event:` line whose type we do not read (ping, newer types).
      return NOTHING;
  }
}

function handleMessageStart(data: unknown, state: StreamState): readonly ChatChunk[] {
  const { message } = parseOrThrow(messageStartSchema, data, "message_start");
  recordUsage(state.usage, message.usage);
  // A repeated message_start (seen in recordings of spliced streams) must not start a second response.
  if (state.started) return NOTHING;
  state.started = true;
  const tier = message.usage?.service_tier;
  return [
    tier == null
      ? { type: "response-start", id: message.id, model: message.model }
      : { type: "response-start", id: message.id, model: message.model, serviceTier: tier },
  ];
}

function handleBlockStart(data: unknown, state: StreamState): readonly ChatChunk[] {
  const { index, content_block: block } = parseOrThrow(contentBlockStartSchema, data, "content_block_start");
  if (block.type === "thinking" || block.type === "redacted_thinking") {
    state.blocks.set(index, { ...NOT_A_TOOL, kind: block.type, reasoning: startReasoning(block) });
    return NOTHING;
  }
  if (block.type !== "tool_use") {
    state.blocks.set(index, { ...NOT_A_TOOL, kind: block.type === "text" ? "text" : "other" });
    return NOTHING;
  }
  const tool = parseOrThrow(toolUseBlockSchema, block, "tool_use block");
  const toolIndex = state.toolCount++;
  const input = tool.input ?? {};
  const initialArguments = Object.keys(input).length > 0 ? JSON.stringify(input) : undefined;
  state.blocks.set(index, { kind: "tool", toolIndex, hasArguments: false, initialArguments });
  return [{ type: "tool-call-start", choice: CHOICE, index: toolIndex, id: tool.id, name: tool.name }];
}

const NOT_A_TOOL = { toolIndex: -1, hasArguments: false, initialArguments: undefined } as const;

function startReasoning(block: { readonly type: string }): NonNullable<BlockState["reasoning"]> {
  if (block.type === "redacted_thinking") {
    return { data: parseOrThrow(redactedThinkingBlockSchema, block, "redacted_thinking block").data };
  }
  const thinking = parseOrThrow(thinkingBlockSchema, block, "thinking block");
  return { thinking: thinking.thinking ?? "", signature: thinking.signature ?? "" };
}

function handleBlockDelta(data: unknown, state: StreamState): readonly ChatChunk[] {
  const { index, delta } = parseOrThrow(contentBlockDeltaSchema, data, "content_block_delta");
  const block = state.blocks.get(index);
  if (block === undefined) throw protocolError(`content_block_delta for block ${index}, which is not open`);
  switch (delta.type) {
    case "text_delta":
      return delta.text ? [{ type: "text-delta", choice: CHOICE, text: delta.text }] : NOTHING;
    case "thinking_delta":
      if (!delta.thinking) return NOTHING;
      if (block.reasoning !== undefined && "thinking" in block.reasoning)
        block.reasoning.thinking += delta.thinking;
      return [{ type: "reasoning-delta", choice: CHOICE, text: delta.thinking }];
    case "input_json_delta":
      return handleArgumentsDelta(block, index, delta.partial_json);
    case "signature_delta":
      if (block.reasoning !== undefined && "signature" in block.reasoning) {
        block.reasoning.signature += delta.signature ?? "";
      }
      return state.signatures && delta.signature
        ? [{ type: "reasoning-delta", choice: CHOICE, text: "", signature: delta.signature }]
        : NOTHING;
    default:
      // citations_delta and newer ones.
      return NOTHING;
  }
}

function handleArgumentsDelta(
  block: BlockState,
  index: number,
  fragment: string | undefined,
): readonly ChatChunk[] {
  if (block.kind !== "tool")
    throw protocolError(`input_json_delta for block ${index}, which is not a tool_use`);
  // A tool without arguments streams partial_json "" (recorded); never forward empty fragments.
  if (!fragment) return NOTHING;
  block.hasArguments = true;
  return [{ type: "tool-call-delta", choice: CHOICE, index: block.toolIndex, arguments: fragment }];
}

function handleBlockStop(data: unknown, state: StreamState): readonly ChatChunk[] {
  const { index } = parseOrThrow(contentBlockStopSchema, data, "content_block_stop");
  const block = state.blocks.get(index);
  state.blocks.delete(index);
  if (block?.reasoning !== undefined) return reasoningStateOf(block.reasoning);
  if (block?.kind !== "tool") return NOTHING;
  const end: ChatChunk = { type: "tool-call-end", choice: CHOICE, index: block.toolIndex };
  if (block.hasArguments) return [end];
  // OpenAI clients expect arguments to be a JSON object string, never "".
  const fill = block.initialArguments ?? "{}";
  return [{ type: "tool-call-delta", choice: CHOICE, index: block.toolIndex, arguments: fill }, end];
}

/** A thinking block without a signature (a relay that strips them) would only earn a 400 if sent back: none. */
function reasoningStateOf(reasoning: NonNullable<BlockState["reasoning"]>): readonly ChatChunk[] {
  if ("signature" in reasoning && reasoning.signature === "") return NOTHING;
  const block: ReasoningBlock =
    "data" in reasoning
      ? { type: "redacted_thinking", data: reasoning.data }
      : { type: "thinking", thinking: reasoning.thinking, signature: reasoning.signature };
  return [{ type: "reasoning-state", choice: CHOICE, block }];
}

function handleMessageDelta(data: unknown, state: StreamState): readonly ChatChunk[] {
  const { delta, usage } = parseOrThrow(messageDeltaSchema, data, "message_delta");
  state.stopReason = delta.stop_reason ?? state.stopReason ?? null;
  recordUsage(state.usage, usage);
  return NOTHING;
}

function handleMessageStop(state: StreamState): readonly ChatChunk[] {
  if (state.stopReason === undefined) throw protocolError("message_stop arrived without a message_delta");
  // A tool call whose block never stopped may hold half its arguments: better an error than a broken call.
  for (const [index, block] of state.blocks) {
    if (block.kind === "tool")
      throw protocolError(`message_stop arrived while tool_use block ${index} was open`);
  }
  state.stopped = true;
  const raw = state.stopReason;
  const finish: ChatChunk = {
    type: "finish",
    choice: CHOICE,
    reason: mapAnthropicStopReason(raw),
    rawReason: raw,
  };
  return state.usage.reported ? [finish, { type: "usage", usage: toUsage(state.usage) }] : [finish];
}

/** Later values replace earlier ones: message_delta's counts are cumulative and may revise message_start's. */
function recordUsage(counts: UsageCounts, usage: AnthropicUsage | null | undefined): void {
  if (usage === null || usage === undefined) return;
  counts.reported = true;
  counts.input = usage.input_tokens ?? counts.input;
  counts.output = usage.output_tokens ?? counts.output;
  counts.cacheRead = usage.cache_read_input_tokens ?? counts.cacheRead;
  counts.cacheCreation = usage.cache_creation_input_tokens ?? counts.cacheCreation;
  counts.thinking = usage.output_tokens_details?.thinking_tokens ?? counts.thinking;
}

/**
 * Anthropic's `input_tokens` counts only the uncached part. OpenAI's prompt_tokens counts everything the model
 * read, with its details as subsets, so cache reads and writes are added in, reads reported as cached and writes
 * as cache writes (LiteLLM's convention too; docs/wire-formats.md#anthropic-usage). Thinking tokens are already
 * inside output_tokens, as reasoning tokens are inside OpenAI's completion_tokens.
 */
function toUsage(counts: UsageCounts): Usage {
  const promptTokens = counts.input + counts.cacheRead + counts.cacheCreation;
  return {
    promptTokens,
    completionTokens: counts.output,
    totalTokens: promptTokens + counts.output,
    ...(counts.cacheRead > 0 ? { cachedTokens: counts.cacheRead } : {}),
    ...(counts.cacheCreation > 0 ? { cacheWriteTokens: counts.cacheCreation } : {}),
    ...(counts.thinking === undefined ? {} : { reasoningTokens: counts.thinking }),
  };
}

function parseEventData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch (error) {
    throw new ProxyError("bad_upstream_response", "Anthropic sent an event that is not valid JSON.", {
      cause: error,
    });
  }
}

function readEventType(data: unknown): string {
  const parsed = anthropicEventTypeSchema.safeParse(data);
  if (!parsed.success) throw protocolError("an event has neither an event name nor a type");
  return parsed.data.type;
}

interface Schema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: unknown };
}

function parseOrThrow<T>(schema: Schema<T>, data: unknown, what: string): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new ProxyError("bad_upstream_response", `Anthropic sent a malformed ${what} event.`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

function protocolError(detail: string): ProxyError {
  return new ProxyError("bad_upstream_response", `Anthropic stream broke protocol: ${detail}.`);
}
