/**
 * A hand-written check of the common `chat.completion.chunk` shapes (text, reasoning, refusal and tool-call
 * deltas, logprobs, annotations, finish, usage) and `chat.completion` bodies, so most stream events and answers
 * skip zod's parse. It accepts a value only when every field the reader
 * uses has the type `openAIChunkSchema` demands (so it accepts a subset of what the schema accepts: the trust
 * boundary is the same); anything else (an `error`, an odd type, a field out of range) answers undefined and the
 * caller falls back to zod, which gives the real verdict and message. Unknown keys are left in place instead of
 * stripped: nothing reads them.
 * @see ./wire.ts (the schema this mirrors; test/providers/openai-compatible-fast-chunk.test.ts checks the subset)
 */
import { MAX_INT32, type OpenAIChunk, type OpenAICompletion } from "./wire.ts";

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

function isBoundedInteger(value: unknown, max: number): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= max;
}

function isPromptDetails(value: unknown): boolean {
  if (value == null) return true;
  if (!isObject(value)) return false;
  return (
    isNullishNumber(value.cached_tokens) &&
    isNullishNumber(value.audio_tokens) &&
    isNullishNumber(value.cache_write_tokens)
  );
}

function isCompletionDetails(value: unknown): boolean {
  if (value == null) return true;
  if (!isObject(value)) return false;
  return (
    isNullishNumber(value.reasoning_tokens) &&
    isNullishNumber(value.audio_tokens) &&
    isNullishNumber(value.accepted_prediction_tokens) &&
    isNullishNumber(value.rejected_prediction_tokens)
  );
}

function isUsage(value: unknown): boolean {
  if (value == null) return true;
  if (!isObject(value)) return false;
  if (!isNumber(value.prompt_tokens) || !isNumber(value.completion_tokens)) return false;
  if (!isNullishNumber(value.total_tokens) || !isNullishNumber(value.cached_tokens)) return false;
  return isPromptDetails(value.prompt_tokens_details) && isCompletionDetails(value.completion_tokens_details);
}

function isTopLogprob(value: unknown): boolean {
  if (!isObject(value) || typeof value.token !== "string" || !isNumber(value.logprob)) return false;
  const bytes = value.bytes;
  if (bytes == null) return true;
  if (!Array.isArray(bytes)) return false;
  for (const byte of bytes) if (!isBoundedInteger(byte, 255)) return false;
  return true;
}

function isTokenLogprobs(value: unknown): boolean {
  if (value == null) return true;
  if (!Array.isArray(value)) return false;
  for (const token of value) {
    if (!isTopLogprob(token)) return false;
    const top = (token as Json).top_logprobs;
    if (top == null) continue;
    if (!Array.isArray(top)) return false;
    for (const alternative of top) if (!isTopLogprob(alternative)) return false;
  }
  return true;
}

function isLogprobs(value: unknown): boolean {
  if (value == null) return true;
  return isObject(value) && isTokenLogprobs(value.content) && isTokenLogprobs(value.refusal);
}

function isAnnotations(value: unknown): boolean {
  if (value == null) return true;
  if (!Array.isArray(value)) return false;
  for (const annotation of value) {
    if (!isObject(annotation) || annotation.type !== "url_citation") return false;
    const citation = annotation.url_citation;
    if (!isObject(citation) || typeof citation.url !== "string" || typeof citation.title !== "string")
      return false;
    if (
      !isBoundedInteger(citation.start_index, MAX_INT32) ||
      !isBoundedInteger(citation.end_index, MAX_INT32)
    )
      return false;
  }
  return true;
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
    isToolCalls(value.tool_calls) &&
    isAnnotations(value.annotations)
  );
}

function isChoices(value: unknown): boolean {
  if (value == null) return true;
  if (!Array.isArray(value)) return false;
  for (const choice of value) {
    if (!isObject(choice) || !isIndex(choice.index) || !isNullishString(choice.finish_reason)) return false;
    if (!isDelta(choice.delta) || !isUsage(choice.usage) || !isLogprobs(choice.logprobs)) return false;
  }
  return true;
}

/** The fields every chunk and answer may repeat about the whole answer. */
function isAnswerMeta(json: Json): boolean {
  return isNullishString(json.system_fingerprint) && isNullishString(json.service_tier);
}

/** The parsed event as an OpenAIChunk when it has a common, valid shape; undefined means "ask zod". */
export function readCommonChunk(json: unknown): OpenAIChunk | undefined {
  if (!isObject(json) || json.error != null) return undefined;
  if (!isNullishString(json.id) || !isNullishString(json.model) || !isAnswerMeta(json)) return undefined;
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
    if (!isCompletionToolCalls(message.tool_calls) || !isAnnotations(message.annotations)) return false;
    if (!isLogprobs(choice.logprobs)) return false;
  }
  return true;
}

/** The parsed body as an OpenAICompletion when it has a common, valid shape; undefined means "ask zod". */
export function readCommonCompletion(json: unknown): OpenAICompletion | undefined {
  if (!isObject(json) || json.error != null) return undefined;
  if (!isNullishString(json.id) || !isNullishString(json.model) || !isAnswerMeta(json)) return undefined;
  if (!isCompletionChoices(json.choices) || !isUsage(json.usage)) return undefined;
  // Every field OpenAICompletion declares was checked above against the schema's own types.
  return json as OpenAICompletion;
}
