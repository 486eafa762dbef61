/**
 * OpenAI chat-completion SSE events → canonical chunks. Each `data:` is parsed once (JSON, then a minimal zod
 * schema); `[DONE]` ends the stream. Per choice a small typed state tracks its tool calls: a call starts once
 * its id and name are known, its argument fragments follow as deltas, and every call ends when the choice
 * finishes (with a "{}" delta if no argument text ever came). Protocol violations throw bad_upstream_response;
 * `{"error": …}` events throw the mapped kind.
 * @see https://platform.openai.com/docs/api-reference/chat/streaming
 * @see ../../../../shared/docs/wire-formats.md §1.6, §4, §6
 */
import type { FastifyBaseLogger } from "fastify";
import { ProxyError } from "../../core/errors.ts";
import type { ChatChunk } from "../../core/types.ts";
import type { SseEvent } from "../sse.ts";
import { mapOpenAICompatibleStreamError } from "./error-map.ts";
import { mapOpenAICompatibleFinishReason } from "./finish-reason.ts";
import type { OpenAICompatibleQuirks } from "./quirks.ts";
import { convertOpenAICompatibleUsage } from "./usage.ts";
import {
  type OpenAIChunk,
  type OpenAIChunkChoice,
  type OpenAIToolCallDelta,
  openAIChunkSchema,
} from "./wire.ts";

/** What the readers need besides the bytes. */
export interface OpenAICompatibleReaderOptions {
  readonly quirks: OpenAICompatibleQuirks;
  /** The provider's key, scrubbed from upstream error messages. */
  readonly apiKey: string | undefined;
  /** Ids for tool calls the upstream left unnamed. */
  readonly generateId: (prefix: string) => string;
  readonly log: FastifyBaseLogger;
}

/** One tool call of a choice. `index` is assigned when it starts, so indices follow start order. */
interface ToolCallState {
  index: number;
  id: string | undefined;
  name: string | undefined;
  started: boolean;
  /** Argument text that arrived before the call could start. */
  pendingArguments: string;
  /** Whether any argument text was yielded. */
  sentArguments: boolean;
}

interface ChoiceState {
  /** Upstream tool-call index → the call currently using it. */
  readonly byUpstreamIndex: Map<number, ToolCallState>;
  /** Every call, in order of first appearance. */
  readonly calls: ToolCallState[];
  startedCalls: number;
  producedOutput: boolean;
  finished: boolean;
}

interface StreamState {
  started: boolean;
  readonly choices: Map<number, ChoiceState>;
}

/** Reads an OpenAI-style event stream into canonical chunks; throws ProxyError on failures. */
export async function* readOpenAICompatibleStream(
  events: AsyncIterable<SseEvent>,
  options: OpenAICompatibleReaderOptions,
): AsyncGenerator<ChatChunk> {
  const state: StreamState = { started: false, choices: new Map() };
  for await (const event of events) {
    const data = event.data.trim();
    if (data === "[DONE]") break;
    // Some vendors send empty `data:` lines as keep-alives.
    if (data === "") continue;
    const chunk = parseOpenAICompatibleChunk(data);
    if (event.event === "error" && !hasError(chunk)) {
      throw new ProxyError("upstream_error", "The upstream reported an error mid-stream.");
    }
    yield* handleChunk(chunk, state, options);
  }
  assertStreamComplete(state);
}

/** Parses one `data:` payload; malformed JSON or an unexpected shape is the upstream's protocol violation. */
export function parseOpenAICompatibleChunk(data: string): OpenAIChunk {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch (error) {
    throw new ProxyError("bad_upstream_response", "The upstream sent an event that is not valid JSON.", {
      cause: error,
    });
  }
  const parsed = openAIChunkSchema.safeParse(json);
  if (!parsed.success) {
    throw new ProxyError("bad_upstream_response", "The upstream sent an event of an unexpected shape.", {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

function hasError(chunk: OpenAIChunk): boolean {
  return chunk.error != null && chunk.error !== "";
}

function* handleChunk(
  chunk: OpenAIChunk,
  state: StreamState,
  options: OpenAICompatibleReaderOptions,
): Generator<ChatChunk> {
  // The OpenAI SDK treats any data with a truthy `error` as a failure; so do we.
  const { error } = chunk;
  if (error != null && error !== "") throw mapOpenAICompatibleStreamError(error, options.apiKey);
  if (!state.started) {
    state.started = true;
    yield {
      type: "response-start",
      ...(chunk.id == null ? {} : { id: chunk.id }),
      ...(chunk.model == null ? {} : { model: chunk.model }),
    };
  }
  for (const choice of chunk.choices ?? []) {
    yield* handleChoice(choice, choiceState(state, choice.index), options);
    if (options.quirks.usageInChoices && choice.usage != null) {
      yield { type: "usage", usage: convertOpenAICompatibleUsage(choice.usage) };
    }
  }
  if (chunk.usage != null) yield { type: "usage", usage: convertOpenAICompatibleUsage(chunk.usage) };
}

function choiceState(state: StreamState, index: number): ChoiceState {
  let choice = state.choices.get(index);
  if (choice === undefined) {
    choice = {
      byUpstreamIndex: new Map(),
      calls: [],
      startedCalls: 0,
      producedOutput: false,
      finished: false,
    };
    state.choices.set(index, choice);
  }
  return choice;
}

function* handleChoice(
  choice: OpenAIChunkChoice,
  state: ChoiceState,
  options: OpenAICompatibleReaderOptions,
): Generator<ChatChunk> {
  if (state.finished) {
    // Vendors repeat the final chunk (or add a usage-only one); nothing after a finish is content.
    if (choice.delta?.content || choice.delta?.tool_calls?.length) {
      options.log.debug({ choice: choice.index }, "upstream sent content after finish_reason; ignored");
    }
    return;
  }
  const delta = choice.delta;
  if (delta != null) {
    const reasoning = delta.reasoning_content || delta.reasoning;
    if (reasoning) yield* emit(state, { type: "reasoning-delta", choice: choice.index, text: reasoning });
    if (delta.content) yield* emit(state, { type: "text-delta", choice: choice.index, text: delta.content });
    // Canonical chunks have no refusal kind; the refusal is what the model said, so it travels as text.
    if (delta.refusal) yield* emit(state, { type: "text-delta", choice: choice.index, text: delta.refusal });
    for (const fragment of delta.tool_calls ?? [])
      yield* handleToolCallFragment(fragment, state, choice.index, options);
  }
  if (choice.finish_reason) yield* finishChoice(state, choice.index, choice.finish_reason, options);
}

function* emit(state: ChoiceState, chunk: ChatChunk): Generator<ChatChunk> {
  state.producedOutput = true;
  yield chunk;
}

function* handleToolCallFragment(
  fragment: OpenAIToolCallDelta,
  state: ChoiceState,
  choice: number,
  options: OpenAICompatibleReaderOptions,
): Generator<ChatChunk> {
  state.producedOutput = true;
  // An empty id or name is no id or name (DashScope repeats `"id":""` on every fragment).
  const id = fragment.id || undefined;
  const name = fragment.function?.name || undefined;
  let call = state.byUpstreamIndex.get(fragment.index);
  if (call === undefined || startsNewCall(call, id, name, options.quirks)) {
    call = { index: -1, id, name, started: false, pendingArguments: "", sentArguments: false };
    state.byUpstreamIndex.set(fragment.index, call);
    state.calls.push(call);
  } else if (!call.started) {
    call.id ??= id;
    call.name ??= name;
  }
  if (!call.started && call.id !== undefined && call.name !== undefined)
    yield* startCall(call, state, choice);
  const fragmentArguments = fragment.function?.arguments ?? "";
  if (fragmentArguments === "") return;
  if (!call.started) {
    call.pendingArguments += fragmentArguments;
    return;
  }
  call.sentArguments = true;
  yield { type: "tool-call-delta", choice, index: call.index, arguments: fragmentArguments };
}

/** A new id *and* a name on an index in use is a new call, unless the vendor repeats headers (DashScope). */
function startsNewCall(
  call: ToolCallState,
  id: string | undefined,
  name: string | undefined,
  quirks: OpenAICompatibleQuirks,
): boolean {
  return (
    !quirks.repeatsToolCallHeaders && call.started && id !== undefined && id !== call.id && name !== undefined
  );
}

function* startCall(call: ToolCallState, state: ChoiceState, choice: number): Generator<ChatChunk> {
  if (call.id === undefined || call.name === undefined) return;
  call.started = true;
  call.index = state.startedCalls;
  state.startedCalls += 1;
  yield { type: "tool-call-start", choice, index: call.index, id: call.id, name: call.name };
  if (call.pendingArguments !== "") {
    call.sentArguments = true;
    yield { type: "tool-call-delta", choice, index: call.index, arguments: call.pendingArguments };
    call.pendingArguments = "";
  }
}

function* finishChoice(
  state: ChoiceState,
  choice: number,
  rawReason: string,
  options: OpenAICompatibleReaderOptions,
): Generator<ChatChunk> {
  const mapped = mapOpenAICompatibleFinishReason(rawReason, options.quirks);
  for (const call of state.calls) {
    if (!call.started) {
      if (call.name === undefined) {
        throw new ProxyError("bad_upstream_response", "The upstream streamed a tool call without a name.");
      }
      // Some servers (older Ollama, llama.cpp) never send tool-call ids.
      call.id ??= options.generateId("call_");
      yield* startCall(call, state, choice);
    }
    if (!call.sentArguments) yield { type: "tool-call-delta", choice, index: call.index, arguments: "{}" };
    yield { type: "tool-call-end", choice, index: call.index };
  }
  state.finished = true;
  // Some vendors say "stop" after calling tools; clients loop on "tool_calls", so the calls decide.
  const reason = mapped.reason === "stop" && state.calls.length > 0 ? "tool_calls" : mapped.reason;
  yield { type: "finish", choice, reason, rawReason: mapped.rawReason };
}

/** A stream that ends before a choice with output finished was cut off: never end it silently. */
function assertStreamComplete(state: StreamState): void {
  const choices = [...state.choices.values()];
  const cutOff = choices.some((choice) => choice.producedOutput && !choice.finished);
  if (cutOff || !choices.some((choice) => choice.finished)) {
    throw new ProxyError("bad_upstream_response", "The upstream stream ended before a finish_reason.");
  }
}
