/**
 * A plain `chat.completion` JSON body → canonical chunks, for upstreams that answer a stream request with
 * JSON (Ollama and some vendors ignore `stream: true`, or answer errors with 200 + an error envelope).
 * DeepSeek may send blank lines before the body while busy; JSON.parse skips that whitespace.
 * @see https://platform.openai.com/docs/api-reference/chat/object
 */
import { ProxyError } from "../../core/errors.ts";
import type { ChatChunk } from "../../core/types.ts";
import { parseUpstreamJson, readUpstreamAnswer } from "../upstream-json.ts";
import { pushAnnotations, pushWithLogprobs } from "./choice-extras.ts";
import { mapOpenAICompatibleStreamError } from "./error-map.ts";
import { readCommonCompletion } from "./fast-chunk.ts";
import { mapOpenAICompatibleFinishReason } from "./finish-reason.ts";
import type { OpenAICompatibleReaderOptions } from "./from-stream.ts";
import { convertOpenAICompatibleUsage } from "./usage.ts";
import { type OpenAICompletion, openAICompletionSchema } from "./wire.ts";

type CompletionChoice = NonNullable<OpenAICompletion["choices"]>[number];

/** Converts one completion into the chunk sequence a stream of it would have produced. */
export function readOpenAICompatibleCompletion(
  text: string,
  options: OpenAICompatibleReaderOptions,
): ChatChunk[] {
  const completion = parseCompletion(text);
  if (completion.error != null && completion.error !== "") {
    throw mapOpenAICompatibleStreamError(completion.error, options.apiKey);
  }
  const choices = completion.choices ?? [];
  if (choices.length === 0)
    throw new ProxyError("bad_upstream_response", "The upstream answered without choices.");
  const out: ChatChunk[] = [
    {
      type: "response-start",
      ...(completion.id == null ? {} : { id: completion.id }),
      ...(completion.model == null ? {} : { model: completion.model }),
      ...(completion.system_fingerprint == null ? {} : { systemFingerprint: completion.system_fingerprint }),
      ...(completion.service_tier == null ? {} : { serviceTier: completion.service_tier }),
    },
  ];
  for (const choice of choices) convertChoice(choice, options, out);
  if (completion.usage != null)
    out.push({ type: "usage", usage: convertOpenAICompatibleUsage(completion.usage) });
  return out;
}

function parseCompletion(text: string): OpenAICompletion {
  const json = parseUpstreamJson(text);
  const common = readCommonCompletion(json);
  if (common !== undefined) return common;
  return readUpstreamAnswer(openAICompletionSchema, json);
}

function convertChoice(
  choice: CompletionChoice,
  options: OpenAICompatibleReaderOptions,
  out: ChatChunk[],
): void {
  const { index, message } = choice;
  const reasoning = message.reasoning_content || message.reasoning;
  if (reasoning) out.push({ type: "reasoning-delta", choice: index, text: reasoning });
  if (choice.logprobs != null) pushWithLogprobs(index, message, choice.logprobs, out);
  else {
    if (message.content) out.push({ type: "text-delta", choice: index, text: message.content });
    if (message.refusal) out.push({ type: "refusal-delta", choice: index, text: message.refusal });
  }
  if (message.annotations != null) pushAnnotations(index, message.annotations, out);
  const calls = message.tool_calls ?? [];
  for (const [callIndex, call] of calls.entries()) {
    const id = call.id || options.generateId("call_");
    out.push({ type: "tool-call-start", choice: index, index: callIndex, id, name: call.function.name });
    out.push({
      type: "tool-call-delta",
      choice: index,
      index: callIndex,
      arguments: call.function.arguments || "{}",
    });
    out.push({ type: "tool-call-end", choice: index, index: callIndex });
  }
  const mapped =
    choice.finish_reason == null || choice.finish_reason === ""
      ? { reason: "stop" as const, rawReason: null }
      : mapOpenAICompatibleFinishReason(choice.finish_reason, options.quirks);
  const reason = mapped.reason === "stop" && calls.length > 0 ? "tool_calls" : mapped.reason;
  out.push({ type: "finish", choice: index, reason, rawReason: mapped.rawReason });
}
