/**
 * A hand-written check of the common `chat.completion.chunk` shapes (text, reasoning and tool-call deltas,
 * finish, usage) and `chat.completion` bodies, so most stream events and answers skip zod's parse. It accepts a value only when every field the reader
 * uses has the type `openAIChunkSchema` demands (so it accepts a subset of what the schema accepts: the trust
 * boundary is the same); anything else (an `error`, an odd type, a field out of range) answers undefined and the
 * caller falls back to zod, which gives the real verdict and message. Unknown keys are left in place instead of
 * stripped: nothing reads them.
 * @see ./wire.ts (the schema this mirrors; test/providers/openai-compatible-fast-chunk.test.ts checks the subset)
 */
import type { OpenAIChunk, OpenAICompletion } from "./wire.ts";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNullishString(value: unknown): boolean {
  return value == null || typeof value === "string";
}

function isNumber(value: unknown): boolean {
  return typeof value === "number" && Number.isFinite(value);
}

function isNullishNumber(value: unknown): boolean {
  return value == null || isNumber(value);
}

function isIndex(value: unknown): boolean {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isUsage(value: unknown): boolean {
  if (value == null) return true;
  if (!isObject(value)) return false;
  if (!isNumber(value.prompt_tokens) || !isNumber(value.completion_tokens)) return false;
  if (!isNullishNumber(value.total_tokens) || !isNullishNumber(value.cached_tokens)) return false;
  const prompt = value.prompt_tokens_details;
  if (prompt != null && !(isObject(prompt) && isNullishNumber(prompt.cached_tokens))) return false;
  const completion = value.completion_tokens_details;
  return completion == null || (isObject(completion) && isNullishNumber(completion.reasoning_tokens));
}

function isToolCalls(value: unknown): boolean {
  if (value == null) return true;
  if (!Array.isArray(value)) return false;
  for (const call of value) {
    if (!isObject(call) || !isIndex(call.index) || !isNullishString(call.id)) return false;
    const fn = call.function;
    if (fn != null && !(isObject(fn) && isNullishString(fn.name) && isNullishString(fn.arguments)))
      return false;
  }
  return true;
}

function isDelta(value: unknown): boolean {
  if (value == null) return true;
  if (!isObject(value)) return false;
  return (
    isNullishString(value.content) &&
    isNullishString(value.reasoning_content) &&
    isNullishString(value.reasoning) &&
    isNullishString(value.refusal) &&
    isToolCalls(value.tool_calls)
  );
}

function isChoices(value: unknown): boolean {
  if (value == null) return true;
  if (!Array.isArray(value)) return false;
  for (const choice of value) {
    if (!isObject(choice) || !isIndex(choice.index) || !isNullishString(choice.finish_reason)) return false;
    if (!isDelta(choice.delta) || !isUsage(choice.usage)) return false;
  }
  return true;
}

/** The parsed event as an OpenAIChunk when it has a common, valid shape; undefined means "ask zod". */
export function readCommonChunk(json: unknown): OpenAIChunk | undefined {
  if (!isObject(json) || json.error != null) return undefined;
  if (!isNullishString(json.id) || !isNullishString(json.model)) return undefined;
  if (!isChoices(json.choices) || !isUsage(json.usage)) return undefined;
  // Every field OpenAIChunk declares was checked above against the schema's own types.
  return json as OpenAIChunk;
}

function isCompletionToolCalls(value: unknown): boolean {
  if (value == null) return true;
  if (!Array.isArray(value)) return false;
  for (const call of value) {
    if (!isObject(call) || !isNullishString(call.id)) return false;
    const fn = call.function;
    if (!isObject(fn) || typeof fn.name !== "string" || !isNullishString(fn.arguments)) return false;
  }
  return true;
}

function isCompletionChoices(value: unknown): boolean {
  if (value == null) return true;
  if (!Array.isArray(value)) return false;
  for (const choice of value) {
    if (!isObject(choice) || !isIndex(choice.index) || !isNullishString(choice.finish_reason)) return false;
    const message = choice.message;
    if (!isObject(message)) return false;
    if (!isNullishString(message.content) || !isNullishString(message.reasoning_content)) return false;
    if (!isNullishString(message.reasoning) || !isNullishString(message.refusal)) return false;
    if (!isCompletionToolCalls(message.tool_calls)) return false;
  }
  return true;
}

/** The parsed body as an OpenAICompletion when it has a common, valid shape; undefined means "ask zod". */
export function readCommonCompletion(json: unknown): OpenAICompletion | undefined {
  if (!isObject(json) || json.error != null) return undefined;
  if (!isNullishString(json.id) || !isNullishString(json.model)) return undefined;
  if (!isCompletionChoices(json.choices) || !isUsage(json.usage)) return undefined;
  // Every field OpenAICompletion declares was checked above against the schema's own types.
  return json as OpenAICompletion;
}
