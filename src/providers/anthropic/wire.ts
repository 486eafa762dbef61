/**
 * Minimal zod schemas of what we read from Anthropic's Messages stream and error bodies. Only the fields the
 * adapter uses are listed (unknown fields are stripped), so additions on Anthropic's side never break us.
 * @see https://platform.claude.com/docs/en/build-with-claude/streaming
 * @see https://platform.claude.com/docs/en/api/errors
 */
import { z } from "zod";

const tokenCount = z.number().int().nonnegative().nullish();

/** Usage as it appears in `message_start.message.usage` and `message_delta.usage` (cumulative values). */
export const anthropicUsageSchema = z.object({
  input_tokens: tokenCount,
  output_tokens: tokenCount,
  cache_creation_input_tokens: tokenCount,
  cache_read_input_tokens: tokenCount,
  output_tokens_details: z.object({ thinking_tokens: tokenCount }).nullish(),
  // "standard", "priority" or "batch": passed on as the answer's service_tier; informative, so never fatal.
  service_tier: z.string().nullish().catch(undefined),
});
export type AnthropicUsage = z.infer<typeof anthropicUsageSchema>;

/** Any event's `type`, read when the SSE `event:` line is missing. */
export const anthropicEventTypeSchema = z.object({ type: z.string() });

/** `message_start`: the id, model and input-side usage. */
export const messageStartSchema = z.object({
  message: z.object({
    id: z.string(),
    model: z.string(),
    usage: anthropicUsageSchema.nullish(),
  }),
});

/** `content_block_start`: every block type is accepted here; tool_use blocks are checked further below. */
export const contentBlockStartSchema = z.object({
  index: z.number().int().nonnegative(),
  content_block: z.object({ type: z.string() }).loose(),
});

/** The `content_block` of a `tool_use` start. `input` is `{}` when streaming; arguments follow as deltas. */
export const toolUseBlockSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()).nullish(),
});

/** The `content_block` of a `redacted_thinking` start: the whole encrypted thinking, in one piece. */
export const redactedThinkingBlockSchema = z.object({ data: z.string() });

/** The `content_block` of a `thinking` start (text and signature usually follow as deltas). */
export const thinkingBlockSchema = z.object({
  thinking: z.string().nullish(),
  signature: z.string().nullish(),
});

/** `content_block_delta`: the delta type decides which field is read. */
export const contentBlockDeltaSchema = z.object({
  index: z.number().int().nonnegative(),
  delta: z.object({
    type: z.string(),
    text: z.string().optional(),
    partial_json: z.string().optional(),
    thinking: z.string().optional(),
    signature: z.string().optional(),
  }),
});

/** `content_block_stop`. */
export const contentBlockStopSchema = z.object({ index: z.number().int().nonnegative() });

/** `message_delta`: the stop reason and cumulative usage. */
export const messageDeltaSchema = z.object({
  delta: z.object({ stop_reason: z.string().nullish() }),
  usage: anthropicUsageSchema.nullish(),
});

/** Error body of a non-2xx answer and data of an `event: error`. */
export const anthropicErrorSchema = z.object({
  error: z.object({
    type: z.string(),
    message: z.string().optional(),
  }),
});
export type AnthropicErrorBody = z.infer<typeof anthropicErrorSchema>;
