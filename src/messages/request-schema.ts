/**
 * The incoming Anthropic Messages request, validated at the trust boundary. What the gateway translates is
 * checked strictly (a wrong type is a 400 in Anthropic's shape); everything else Claude Code and the SDKs send
 * (cache_control, context_management, defer_loading, newer block types and fields) is kept as it came: objects are
 * loose, so the original body can travel unchanged to an Anthropic upstream (the `native` body).
 * @see https://platform.claude.com/docs/en/api/messages
 */
import { z } from "zod";
import { MAX_NAME_CHARS, TOKEN_COUNT } from "../core/request-bounds.ts";

/** Tools in one request: Claude Code with MCP servers offers well over OpenAI's 128. */
const MAX_TOOLS = 1024;
/** Stop sequences in one request (Anthropic takes many; a cap keeps one request small). */
const MAX_STOP_SEQUENCES = 64;

const textBlock = z.looseObject({ type: z.literal("text"), text: z.string() });
const imageBlock = z.looseObject({
  type: z.literal("image"),
  source: z.discriminatedUnion("type", [
    z.looseObject({ type: z.literal("base64"), media_type: z.string().min(1), data: z.string().min(1) }),
    z.looseObject({ type: z.literal("url"), url: z.string().min(1) }),
    z.looseObject({ type: z.literal("file"), file_id: z.string().min(1) }),
  ]),
});
const toolUseBlock = z.looseObject({
  type: z.literal("tool_use"),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
});
const toolResultBlock = z.looseObject({
  type: z.literal("tool_result"),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]).optional(),
  is_error: z.boolean().optional(),
});
const thinkingBlock = z.looseObject({
  type: z.literal("thinking"),
  thinking: z.string(),
  signature: z.string().optional(),
});
const redactedThinkingBlock = z.looseObject({ type: z.literal("redacted_thinking"), data: z.string() });

const KNOWN_BLOCKS = new Set(["text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking"]);
/** A block of a type the gateway does not translate (document, search_result, server tool blocks, newer ones). */
const otherBlock = z.looseObject({
  type: z
    .string()
    .min(1)
    .refine((type) => !KNOWN_BLOCKS.has(type), "malformed content block"),
});

const block = z.union([
  textBlock,
  imageBlock,
  toolUseBlock,
  toolResultBlock,
  thinkingBlock,
  redactedThinkingBlock,
  otherBlock,
]);
const content = z.union([z.string(), z.array(block)]);

const message = z.looseObject({
  // `system` inside messages: a 2026 beta Claude Code uses (DESIGN-2 2.2).
  role: z.enum(["user", "assistant", "system"]),
  content,
});

const tool = z.union([
  z.looseObject({
    name: z.string().min(1).max(MAX_NAME_CHARS),
    description: z.string().optional(),
    input_schema: z.looseObject({ type: z.string() }),
    type: z.literal("custom").optional(),
  }),
  // Anthropic's server and client tools (web_search_…, bash_…, text_editor_…): a versioned type, no schema.
  z.looseObject({ type: z.string().min(1), name: z.string().min(1).max(MAX_NAME_CHARS) }),
]);

const toolChoice = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("auto"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("any"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("none") }),
  z.looseObject({
    type: z.literal("tool"),
    name: z.string().min(1),
    disable_parallel_tool_use: z.boolean().optional(),
  }),
]);

const thinking = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("enabled"), budget_tokens: z.number().int().min(1) }),
  z.looseObject({ type: z.literal("adaptive") }),
  z.looseObject({ type: z.literal("disabled") }),
]);

/** The Messages request body. */
export const messagesRequestSchema = z.looseObject({
  model: z.string().min(1).max(MAX_NAME_CHARS),
  max_tokens: z.number().int().min(TOKEN_COUNT.min).max(TOKEN_COUNT.max),
  messages: z.array(message).min(1),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  tools: z.array(tool).max(MAX_TOOLS).optional(),
  tool_choice: toolChoice.optional(),
  stop_sequences: z.array(z.string()).max(MAX_STOP_SEQUENCES).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  stream: z.boolean().optional(),
  thinking: thinking.optional(),
  output_config: z.looseObject({ effort: z.enum(["low", "medium", "high", "max"]).optional() }).optional(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
});

export type MessagesRequestBody = z.infer<typeof messagesRequestSchema>;
export type MessageBody = z.infer<typeof message>;
export type ContentBlockBody = z.infer<typeof block>;

/** The count_tokens body: the request without max_tokens (and without the sampling fields it ignores). */
export const countTokensRequestSchema = messagesRequestSchema.omit({ max_tokens: true }).extend({
  max_tokens: z.number().int().min(TOKEN_COUNT.min).max(TOKEN_COUNT.max).optional(),
});
export type CountTokensRequestBody = z.infer<typeof countTokensRequestSchema>;
