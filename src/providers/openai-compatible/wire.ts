/**
 * Minimal zod schemas of what we read from OpenAI-compatible upstreams: only the fields the adapter uses, so
 * vendor additions (obfuscation, …) never break parsing. Unknown keys are stripped; `nullish` because vendors
 * send `null` where OpenAI omits a key. What only informs the client (logprobs, annotations, the fingerprint
 * and service tier) is dropped when malformed (`catch`) rather than failing an answer that is otherwise fine.
 * @see https://platform.openai.com/docs/api-reference/chat/streaming
 * @see https://platform.openai.com/docs/api-reference/chat/object
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
  prompt_tokens_details: z
    .object({
      cached_tokens: z.number().nullish(),
      audio_tokens: z.number().nullish(),
      cache_write_tokens: z.number().nullish(),
    })
    .nullish(),
  completion_tokens_details: z
    .object({
      reasoning_tokens: z.number().nullish(),
      audio_tokens: z.number().nullish(),
      accepted_prediction_tokens: z.number().nullish(),
      rejected_prediction_tokens: z.number().nullish(),
    })
    .nullish(),
  cached_tokens: z.number().nullish(),
});

/** Offsets travel as int32 on gRPC. */
export const MAX_INT32 = 2_147_483_647;

/** One of the likeliest tokens; `bytes` is null when the token has no byte form. */
export const openAITopLogprobSchema = z.object({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.number().int().min(0).max(255)).nullish(),
});

/** A sampled token's log probability. */
export const openAITokenLogprobSchema = openAITopLogprobSchema.extend({
  top_logprobs: z.array(openAITopLogprobSchema).nullish(),
});

/** A choice's `logprobs`: those of content tokens and of refusal tokens. */
export const openAILogprobsSchema = z.object({
  content: z.array(openAITokenLogprobSchema).nullish(),
  refusal: z.array(openAITokenLogprobSchema).nullish(),
});

/** A `url_citation` annotation, the kind OpenAI documents. */
export const openAIUrlCitationSchema = z.object({
  type: z.literal("url_citation"),
  url_citation: z.object({
    url: z.string(),
    title: z.string(),
    start_index: z.number().int().min(0).max(MAX_INT32),
    end_index: z.number().int().min(0).max(MAX_INT32),
  }),
});

/** An annotation in a list: another kind (or a malformed one) reads as null and is left out. */
export const openAIAnnotationSchema = openAIUrlCitationSchema.nullable().catch(null);

const logprobs = openAILogprobsSchema.nullish().catch(undefined);
const annotations = z.array(openAIAnnotationSchema).nullish().catch(undefined);
const informative = z.string().nullish().catch(undefined);

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
      annotations,
    })
    .nullish(),
  logprobs,
  finish_reason: z.string().nullish(),
  usage: openAIUsageSchema.nullish(),
});

/** One `data:` event of a chat completion stream. */
export const openAIChunkSchema = z.object({
  id: z.string().nullish(),
  model: z.string().nullish(),
  system_fingerprint: informative,
  service_tier: informative,
  choices: z.array(openAIChunkChoiceSchema).nullish(),
  usage: openAIUsageSchema.nullish(),
  error: openAIErrorSchema.nullish(),
});

/** A non-streamed completion, for upstreams that ignore `stream: true` and answer with JSON. */
export const openAICompletionSchema = z.object({
  id: z.string().nullish(),
  model: z.string().nullish(),
  system_fingerprint: informative,
  service_tier: informative,
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
          annotations,
        }),
        logprobs,
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: openAIUsageSchema.nullish(),
  error: openAIErrorSchema.nullish(),
});

export type OpenAIError = z.infer<typeof openAIErrorSchema>;
export type OpenAIUsage = z.infer<typeof openAIUsageSchema>;
export type OpenAILogprobs = z.infer<typeof openAILogprobsSchema>;
export type OpenAIAnnotation = z.infer<typeof openAIAnnotationSchema>;
export type OpenAIToolCallDelta = z.infer<typeof openAIToolCallDeltaSchema>;
export type OpenAIChunkChoice = z.infer<typeof openAIChunkChoiceSchema>;
export type OpenAIChunk = z.infer<typeof openAIChunkSchema>;
export type OpenAICompletion = z.infer<typeof openAICompletionSchema>;
