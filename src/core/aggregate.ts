/**
 * Folds a chat stream into one result: the non-streaming path is the streaming path, aggregated, so each
 * provider has a single translation.
 */
import { batchesOf } from "./batches.ts";
import type { ChatStream } from "./chat-stream.ts";
import type { ChatChoiceResult, ChatChunk, ChatResult, FinishReason, ToolCall, Usage } from "./types.ts";

interface ChoiceState {
  text: string;
  hasText: boolean;
  reasoning: string;
  toolCalls: Map<number, { id: string; name: string; arguments: string }>;
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
    .map(([index, state]) => toChoiceResult(index, state));
  return { id: stream.id, model: stream.model, created: stream.created, choices: results, usage };
}

function newChoice(): ChoiceState {
  return {
    text: "",
    hasText: false,
    reasoning: "",
    toolCalls: new Map(),
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
      state.text += chunk.text;
      state.hasText = true;
      return;
    case "reasoning-delta":
      state.reasoning += chunk.text;
      return;
    case "tool-call-start":
      state.toolCalls.set(chunk.index, { id: chunk.id, name: chunk.name, arguments: "" });
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

function toChoiceResult(index: number, state: ChoiceState): ChatChoiceResult {
  const toolCalls: ToolCall[] = [...state.toolCalls.entries()]
    .sort(([left], [right]) => left - right)
    .map(([, call]) => call);
  return {
    index,
    // OpenAI answers content: null (not "") when the model only called tools.
    content: state.hasText || toolCalls.length === 0 ? state.text : null,
    ...(state.reasoning === "" ? {} : { reasoningContent: state.reasoning }),
    toolCalls,
    finishReason: state.finishReason,
    rawFinishReason: state.rawFinishReason,
  };
}
