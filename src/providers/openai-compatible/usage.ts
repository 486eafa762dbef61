/**
 * OpenAI CompletionUsage → canonical Usage. `cached_tokens` ⊆ prompt tokens and `reasoning_tokens` ⊆
 * completion tokens, as in canonical Usage, so no arithmetic beyond a missing total.
 * @see https://platform.openai.com/docs/api-reference/chat/object (usage)
 */
import type { Usage } from "../../core/types.ts";
import type { OpenAIUsage } from "./wire.ts";

/** Converts upstream usage; Moonshot's top-level `cached_tokens` counts when the details lack it. */
export function convertOpenAICompatibleUsage(usage: OpenAIUsage): Usage {
  const cachedTokens = usage.prompt_tokens_details?.cached_tokens ?? usage.cached_tokens ?? undefined;
  const reasoningTokens = usage.completion_tokens_details?.reasoning_tokens ?? undefined;
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
    ...(cachedTokens === undefined ? {} : { cachedTokens }),
    ...(reasoningTokens === undefined ? {} : { reasoningTokens }),
  };
}
