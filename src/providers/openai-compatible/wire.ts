/**
 * Minimal zod schemas of what we read from OpenAI-compatible upstreams: only the fields the adapter uses, so
 * vendor additions (obfuscation, logprobs, system_fingerprint, …) never break parsing. Unknown keys are
 * stripped; `nullish` because vendors send `null` where OpenAI omits a key.
 * @see https://platform.openai.com/docs/api-reference/chat/streaming
 */
import { z } from "zod";

/** `{"error": {...}}` in an error body or a mid-stream `data:` event. Some vendors send a bare string. */
export const openAIErrorSchema = z.union([
  z.object({
    message: z.string().nullish(),
    type: z.string().nullish(),
    // Zhipu and vLLM send numeric codes.
    code: z.union([z.string(), z.number()]).nullish(),
    param: z.string().nullish(),
  }),
  z.string(),
]);

/** The error envelope of a non-2xx answer. */
export const openAIErrorBodySchema = z.object({ error: openAIErrorSchema });

/** CompletionUsage, plus Moonshot's top-level `cached_tokens`. */
export const openAIUsageSchema = z.object({
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  total_tokens: z.number().nullish(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().nullish() }).nullish(),
  completion_tokens_details: z.object({ reasoning_tokens: z.number().nullish() }).nullish(),
  cached_tokens: z.number().nullish(),
});

/** One ToolCallChunk: only `index` is required; id/name come in the first fragment of a call. */
export const openAIToolCallDeltaSchema = z.object({
  index: z.number().int().nonnegative(),
  id: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

/** A streamed choice. `usage` is Moonshot's placement (read only with the `moonshot` quirk). */
export const openAIChunkChoiceSchema = z.object({
  index: z.number().int().nonnegative(),
  delta: z
    .object({
      content: z.string().nullish(),
      // DeepSeek, Qwen, Kimi, GLM use reasoning_content; vLLM and OpenRouter use reasoning.
      reasoning_content: z.string().nullish(),
      reasoning: z.string().nullish(),
      refusal: z.string().nullish(),
      tool_calls: z.array(openAIToolCallDeltaSchema).nullish(),
    })
    .nullish(),
  finish_reason: z.string().nullish(),
  usage: openAIUsageSchema.nullish(),
});

/** One `data:` event of a chat completion stream. */
export const openAIChunkSchema = z.object({
  id: z.string().nullish(),
  model: z.string().nullish(),
  choices: z.array(openAIChunkChoiceSchema).nullish(),
  usage: openAIUsageSchema.nullish(),
  error: openAIErrorSchema.nullish(),
});

/** A non-streamed completion, for upstreams that ignore `stream: true` and answer with JSON. */
export const openAICompletionSchema = z.object({
  id: z.string().nullish(),
  model: z.string().nullish(),
  choices: z
    .array(
      z.object({
        index: z.number().int().nonnegative(),
        message: z.object({
          content: z.string().nullish(),
          reasoning_content: z.string().nullish(),
          reasoning: z.string().nullish(),
          refusal: z.string().nullish(),
          tool_calls: z
            .array(
              z.object({
                id: z.string().nullish(),
                function: z.object({ name: z.string(), arguments: z.string().nullish() }),
              }),
            )
            .nullish(),
        }),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: openAIUsageSchema.nullish(),
  error: openAIErrorSchema.nullish(),
});

export type OpenAIError = z.infer<typeof openAIErrorSchema>;
export type OpenAIUsage = z.infer<typeof openAIUsageSchema>;
export type OpenAIToolCallDelta = z.infer<typeof openAIToolCallDeltaSchema>;
export type OpenAIChunkChoice = z.infer<typeof openAIChunkChoiceSchema>;
export type OpenAIChunk = z.infer<typeof openAIChunkSchema>;
export type OpenAICompletion = z.infer<typeof openAICompletionSchema>;
