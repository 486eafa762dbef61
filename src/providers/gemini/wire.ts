/**
 * Zod schemas of the Gemini answers we read: stream chunks and the Google error envelope. Only the fields the
 * adapter uses are described; anything else Google adds is ignored, so new fields cannot break parsing.
 * @see https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse
 * @see https://ai.google.dev/gemini-api/docs/troubleshooting
 */
import { z } from "zod";

/** A `functionCall` part. Gemini sends whole `args`; `id` is often absent on the Gemini API. */
const functionCallSchema = z.object({
  id: z.string().nullish(),
  // Required: without a name the part is a streamed-arguments fragment (streamFunctionCallArguments),
  // which this adapter does not request and does not support.
  name: z.string().min(1),
  args: z.record(z.string(), z.unknown()).nullish(),
});

/**
 * One content part. `thought: true` marks a thought summary; `thoughtSignature` is the opaque state Gemini wants
 * back on the same part next turn (required on function calls by Gemini 3).
 */
const partSchema = z.object({
  text: z.string().nullish(),
  thought: z.boolean().nullish(),
  thoughtSignature: z.string().nullish(),
  functionCall: functionCallSchema.nullish(),
});

const candidateSchema = z.object({
  content: z.object({ parts: z.array(partSchema).nullish() }).nullish(),
  finishReason: z.string().nullish(),
  index: z.number().int().nonnegative().nullish(),
});

/** Cumulative token counts; the last chunk's values are the final ones. */
const usageMetadataSchema = z.object({
  promptTokenCount: z.number().nullish(),
  candidatesTokenCount: z.number().nullish(),
  totalTokenCount: z.number().nullish(),
  cachedContentTokenCount: z.number().nullish(),
  thoughtsTokenCount: z.number().nullish(),
  toolUsePromptTokenCount: z.number().nullish(),
});

/** One streamed `GenerateContentResponse` (each SSE event is a complete one). */
export const geminiChunkSchema = z.object({
  candidates: z.array(candidateSchema).nullish(),
  usageMetadata: usageMetadataSchema.nullish(),
  promptFeedback: z.object({ blockReason: z.string().nullish() }).nullish(),
  modelVersion: z.string().nullish(),
  responseId: z.string().nullish(),
});

export type GeminiChunk = z.infer<typeof geminiChunkSchema>;
export type GeminiCandidate = z.infer<typeof candidateSchema>;
export type GeminiPart = z.infer<typeof partSchema>;
export type GeminiUsageMetadata = z.infer<typeof usageMetadataSchema>;

/** `{error:{code,message,status,details}}`, both as an HTTP error body and as a mid-stream event. */
export const geminiErrorEnvelopeSchema = z.object({
  error: z.object({
    code: z.number().nullish(),
    message: z.string().nullish(),
    status: z.string().nullish(),
    details: z.array(z.unknown()).nullish(),
  }),
});

export type GeminiErrorPayload = z.infer<typeof geminiErrorEnvelopeSchema>["error"];

/** `google.rpc.ErrorInfo` detail: `reason` is e.g. `API_KEY_INVALID`. */
export const errorInfoDetailSchema = z.object({
  "@type": z.literal("type.googleapis.com/google.rpc.ErrorInfo"),
  reason: z.string(),
});

/** `google.rpc.RetryInfo` detail: `retryDelay` is a protobuf Duration in JSON form, e.g. `"34.4s"`. */
export const retryInfoDetailSchema = z.object({
  "@type": z.literal("type.googleapis.com/google.rpc.RetryInfo"),
  retryDelay: z.string(),
});

/** `google.rpc.QuotaFailure` detail: names the exhausted quota (per minute, per day, …). */
export const quotaFailureDetailSchema = z.object({
  "@type": z.literal("type.googleapis.com/google.rpc.QuotaFailure"),
  violations: z.array(z.object({ quotaId: z.string().nullish() })).nullish(),
});
