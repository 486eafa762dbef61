/**
 * The Responses API request body (POST /v1/responses), as zod schemas: the fields the gateway models are
 * checked; any other field (Codex's `client_metadata`, `prompt_cache_key`, item `id`s) is accepted and ignored.
 * Items and tools are checked one by one in ./to-canonical.ts and ./tools.ts, so that an unknown type gets a
 * message naming it rather than a union's list of mismatches.
 */
import { z } from "zod";

/** JSON Schema objects (tool parameters, text.format schemas) must at least be objects. */
const jsonObject = z.record(z.string(), z.unknown());

/** A content part of a message item. */
export const contentPartSchema = z.looseObject({ type: z.string() });

/** An item of `input` (the type is optional: `{role, content}` is a message). */
export const inputItemSchema = z.looseObject({ type: z.string().optional() });

export const messageItemSchema = z.looseObject({
  role: z.enum(["user", "system", "developer", "assistant"]),
  content: z.union([z.string(), z.array(contentPartSchema)]),
});

export const functionCallItemSchema = z.looseObject({
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  namespace: z.string().optional(),
});

export const customToolCallItemSchema = z.looseObject({
  call_id: z.string().min(1),
  name: z.string().min(1),
  input: z.string(),
});

export const toolOutputItemSchema = z.looseObject({
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(contentPartSchema)]),
});

export const reasoningItemSchema = z.looseObject({
  summary: z.array(z.looseObject({ text: z.string() })).optional(),
  content: z.array(z.looseObject({ text: z.string() })).nullish(),
  encrypted_content: z.string().nullish(),
});

export const functionToolSchema = z.looseObject({
  type: z.literal("function"),
  name: z.string().min(1),
  description: z.string().nullish(),
  parameters: jsonObject.nullish(),
  strict: z.boolean().nullish(),
});

export const customToolSchema = z.looseObject({
  type: z.literal("custom"),
  name: z.string().min(1),
  description: z.string().nullish(),
});

export const namespaceToolSchema = z.looseObject({
  type: z.literal("namespace"),
  name: z.string().min(1),
  description: z.string().nullish(),
  tools: z.array(z.looseObject({ type: z.string() })),
});

const toolChoiceSchema = z.union([
  z.enum(["none", "auto", "required"]),
  z.looseObject({ type: z.string(), name: z.string().optional() }),
]);

const textFormatSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text") }),
  z.looseObject({ type: z.literal("json_object") }),
  z.looseObject({
    type: z.literal("json_schema"),
    name: z.string().min(1).max(64),
    schema: jsonObject,
    description: z.string().nullish(),
    strict: z.boolean().nullish(),
  }),
]);

export const responsesRequestSchema = z.looseObject({
  model: z.string().optional(),
  input: z.union([z.string(), z.array(inputItemSchema)]),
  instructions: z.string().nullish(),
  tools: z.array(z.looseObject({ type: z.string() })).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  text: z.looseObject({ format: textFormatSchema.optional() }).nullish(),
  reasoning: z
    .looseObject({ effort: z.enum(["none", "minimal", "low", "medium", "high", "xhigh"]).nullish() })
    .nullish(),
  stream: z.boolean().nullish(),
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().nullish(),
  include: z.array(z.string()).nullish(),
  previous_response_id: z.string().nullish(),
  conversation: z.unknown().optional(),
  background: z.boolean().nullish(),
});

export type ResponsesRequestBody = z.infer<typeof responsesRequestSchema>;
export type InputItem = z.infer<typeof inputItemSchema>;
export type ContentPartBody = z.infer<typeof contentPartSchema>;
export type ToolChoiceBody = z.infer<typeof toolChoiceSchema>;
