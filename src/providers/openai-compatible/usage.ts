/**
 * OpenAI CompletionUsage → canonical Usage. Canonical usage counts as OpenAI does (each detail is part of its
 * total), so the details are copied as they are and only a missing total is computed.
 * @see https://platform.openai.com/docs/api-reference/chat/object (usage)
 */
import type { Usage } from "../../core/types.ts";
import type { OpenAIUsage } from "./wire.ts";

type MutableUsage = { -readonly [K in keyof Usage]: Usage[K] };

/** Converts upstream usage; Moonshot's top-level `cached_tokens` counts when the details lack it. */
export function convertOpenAICompatibleUsage(usage: OpenAIUsage): Usage {
  const out: MutableUsage = {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
  };
  const prompt = usage.prompt_tokens_details;
  const cached = prompt?.cached_tokens ?? usage.cached_tokens;
  if (cached != null) out.cachedTokens = cached;
  if (prompt != null) {
    if (prompt.audio_tokens != null) out.promptAudioTokens = prompt.audio_tokens;
    if (prompt.cache_write_tokens != null) out.cacheWriteTokens = prompt.cache_write_tokens;
  }
  const completion = usage.completion_tokens_details;
  if (completion != null) {
    if (completion.reasoning_tokens != null) out.reasoningTokens = completion.reasoning_tokens;
    if (completion.audio_tokens != null) out.completionAudioTokens = completion.audio_tokens;
    if (completion.accepted_prediction_tokens != null)
      out.acceptedPredictionTokens = completion.accepted_prediction_tokens;
    if (completion.rejected_prediction_tokens != null)
      out.rejectedPredictionTokens = completion.rejected_prediction_tokens;
  }
  return out;
}
