/**
 * Folds a chat stream into one result: the non-streaming path is the streaming path, aggregated, so each
 * provider has a single translation.
 */
import { batchesOf } from "./batches.ts";
import type { ChatStream } from "./chat-stream.ts";
import { ReasoningStateBuilder } from "./reasoning-state.ts";
import type {
  Annotation,
  ChatChoiceResult,
  ChatChunk,
  ChatResult,
  ChoiceLogprobs,
  FinishReason,
  TokenLogprob,
  ToolCall,
  Usage,
} from "./types.ts";

/** Logprobs joined across chunks; a list stays null (or absent) until a chunk brings one. */
interface LogprobsState {
  content?: TokenLogprob[] | null;
  refusal?: TokenLogprob[] | null;
}

interface ChoiceState {
  text: string;
  hasText: boolean;
  reasoning: string;
  signature: string | undefined;
  readonly reasoningState: ReasoningStateBuilder;
  refusal: string | undefined;
  toolCalls: Map<number, { id: string; name: string; arguments: string }>;
  annotations: Annotation[] | undefined;
  logprobs: LogprobsState | undefined;
  finishReason: FinishReason;
  rawFinishReason: string | null;
}

/** Reads the whole stream. Throws what the stream throws. */
export async function aggregateStream(stream: ChatStream): Promise<ChatResult> {
  const choices = new Map<number, ChoiceState>();
  for (let index = 0; index < stream.choiceCount; index++) choices.set(index, newChoice());
  let usage: Usage | undefined;
  for await (const batch of batchesOf(stream)) {
    for (const chunk of batch) {
      if (chunk.type === "usage") usage = chunk.usage;
      else if (chunk.type !== "response-start") applyChunk(choiceOf(choices, chunk.choice), chunk);
    }
  }
  const results: ChatChoiceResult[] = [...choices.entries()]
    .sort(([left], [right]) => left - right)
    .map(([index, state]) => toChoiceResult(index, state, stream.served));
  const result: Mutable<ChatResult> = {
    id: stream.id,
    model: stream.model,
    created: stream.created,
    choices: results,
    usage,
  };
  if (stream.systemFingerprint !== undefined) result.systemFingerprint = stream.systemFingerprint;
  if (stream.serviceTier !== undefined) result.serviceTier = stream.serviceTier;
  return result;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function newChoice(): ChoiceState {
  return {
    text: "",
    hasText: false,
    reasoning: "",
    signature: undefined,
    reasoningState: new ReasoningStateBuilder(),
    refusal: undefined,
    toolCalls: new Map(),
    annotations: undefined,
    logprobs: undefined,
    finishReason: "stop",
    rawFinishReason: null,
  };
}

function choiceOf(choices: Map<number, ChoiceState>, index: number): ChoiceState {
  let state = choices.get(index);
  if (state === undefined) {
    state = newChoice();
    choices.set(index, state);
  }
  return state;
}

function applyChunk(
  state: ChoiceState,
  chunk: Exclude<ChatChunk, { type: "usage" | "response-start" }>,
): void {
  switch (chunk.type) {
    case "text-delta":
      // An empty delta may only carry logprobs: it does not make content of a refusal or a tool-call turn.
      if (chunk.text !== "") {
        state.text += chunk.text;
        state.hasText = true;
      }
      if (chunk.logprobs !== undefined) joinLogprobs(state, chunk.logprobs);
      return;
    case "reasoning-delta":
      state.reasoning += chunk.text;
      if (chunk.signature !== undefined) state.signature = (state.signature ?? "") + chunk.signature;
      return;
    case "refusal-delta":
      state.refusal = (state.refusal ?? "") + chunk.text;
      if (chunk.logprobs !== undefined) joinLogprobs(state, chunk.logprobs);
      return;
    case "annotation-delta":
      state.annotations = [...(state.annotations ?? []), ...chunk.annotations];
      return;
    case "reasoning-state":
      state.reasoningState.add(chunk);
      return;
    case "tool-call-start":
      state.toolCalls.set(chunk.index, { id: chunk.id, name: chunk.name, arguments: "" });
      if (chunk.signature !== undefined) state.reasoningState.add(chunk);
      return;
    case "tool-call-delta": {
      const call = state.toolCalls.get(chunk.index);
      if (call !== undefined) call.arguments += chunk.arguments;
      return;
    }
    case "tool-call-end":
      return;
    case "finish":
      state.finishReason = chunk.reason;
      state.rawFinishReason = chunk.rawReason;
      return;
    default: {
      const unreachable: never = chunk;
      throw new Error(`unhandled chunk ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * The first logprobs of a choice are taken as they are; later ones append their lists, as OpenAI's SDK joins a
 * stream's, so a streamed and a whole answer read the same.
 */
function joinLogprobs(state: ChoiceState, logprobs: ChoiceLogprobs): void {
  const joined = state.logprobs;
  if (joined === undefined) {
    state.logprobs = {
      ...(logprobs.content === undefined
        ? {}
        : { content: logprobs.content === null ? null : [...logprobs.content] }),
      ...(logprobs.refusal === undefined
        ? {}
        : { refusal: logprobs.refusal === null ? null : [...logprobs.refusal] }),
    };
    return;
  }
  if (logprobs.content) {
    joined.content ??= [];
    joined.content.push(...logprobs.content);
  }
  if (logprobs.refusal) {
    joined.refusal ??= [];
    joined.refusal.push(...logprobs.refusal);
  }
}

function toChoiceResult(index: number, state: ChoiceState, served: ChatStream["served"]): ChatChoiceResult {
  const toolCalls: ToolCall[] = [...state.toolCalls.entries()]
    .sort(([left], [right]) => left - right)
    .map(([, call]) => call);
  const result: Mutable<ChatChoiceResult> = {
    index,
    // OpenAI answers content: null (not "") when the model only called tools or refused.
    content: state.hasText || (toolCalls.length === 0 && state.refusal === undefined) ? state.text : null,
    ...(state.reasoning === "" ? {} : { reasoningContent: state.reasoning }),
    ...(state.signature === undefined ? {} : { reasoningSignature: state.signature }),
    toolCalls,
    finishReason: state.finishReason,
    rawFinishReason: state.rawFinishReason,
  };
  const reasoningState = state.reasoningState.build({
    provider: served.provider,
    model: served.upstreamModel,
  });
  if (reasoningState !== undefined) result.reasoningState = reasoningState;
  if (state.refusal !== undefined) result.refusal = state.refusal;
  if (state.annotations !== undefined) result.annotations = state.annotations;
  if (state.logprobs !== undefined) result.logprobs = state.logprobs;
  return result;
}
