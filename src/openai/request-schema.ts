/**
 * The incoming OpenAI chat completion request, validated at the trust boundary. Fields we model are checked
 * strictly; any other top-level field (vendor extensions such as `enable_thinking`, or OpenAI fields we do
 * not translate such as `logprobs`) is kept and forwarded as extra body to OpenAI-compatible upstreams.
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
import { z } from "zod";
import * as bounds from "../core/request-bounds.ts";

const jsonObject = z.record(z.string(), z.unknown());

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const imagePart = z.object({
  type: z.literal("image_url"),
  image_url: z.object({
    url: z.string().min(1),
    detail: z.enum(["auto", "low", "high"]).optional(),
  }),
});
const refusalPart = z.object({ type: z.literal("refusal"), refusal: z.string() });

const textContent = z.union([z.string(), z.array(textPart)]);
const userContent = z.union([z.string(), z.array(z.discriminatedUnion("type", [textPart, imagePart]))]);
const assistantContent = z.union([
  z.string(),
  z.array(z.discriminatedUnion("type", [textPart, refusalPart])),
]);

const toolCall = z.object({
  id: z.string().min(1),
  type: z.literal("function"),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const name = z.string().optional();

const message = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content: textContent, name }),
  z.object({ role: z.literal("developer"), content: textContent, name }),
  z.object({ role: z.literal("user"), content: userContent, name }),
  z.object({
    role: z.literal("assistant"),
    content: assistantContent.nullish(),
    name,
    tool_calls: z.array(toolCall).optional(),
    reasoning_content: z.string().nullish(),
    /** The gateway's sealed reasoning state, returned as it was received (src/edge/reasoning-carrier.ts). */
    reasoning_state: z.string().nullish(),
    refusal: z.string().nullish(),
  }),
  z.object({ role: z.literal("tool"), content: textContent, tool_call_id: z.string().min(1) }),
]);

const tool = z.object({
  type: z.literal("function"),
  function: z.object({
    name: z.string().min(1).max(bounds.MAX_TOOL_NAME_CHARS),
    description: z.string().optional(),
    parameters: jsonObject.optional(),
    strict: z.boolean().nullish(),
  }),
});

const toolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), function: z.object({ name: z.string().min(1) }) }),
]);

const responseFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.object({
      name: z.string().min(1),
      description: z.string().optional(),
      schema: jsonObject.optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

/** A number within one of the shared bounds (src/core/request-bounds.ts). */
const within = (range: bounds.Range) => z.number().min(range.min).max(range.max);
const tokenCount = within(bounds.TOKEN_COUNT).int();

/** Known fields; everything else passes through as extra body. */
export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().max(bounds.MAX_NAME_CHARS).optional(),
  messages: z.array(message).min(bounds.MIN_MESSAGES, "messages must contain at least one message"),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  temperature: within(bounds.TEMPERATURE).nullish(),
  top_p: within(bounds.TOP_P).nullish(),
  max_tokens: tokenCount.nullish(),
  max_completion_tokens: tokenCount.nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(bounds.MAX_STOP_SEQUENCES)]).nullish(),
  n: within(bounds.CHOICES).int().nullish(),
  seed: z.number().int().nullish(),
  user: z.string().max(bounds.MAX_NAME_CHARS).nullish(),
  tools: z.array(tool).max(bounds.MAX_TOOLS).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: responseFormat.nullish(),
  reasoning_effort: z.enum(["none", "minimal", "low", "medium", "high", "xhigh", "max"]).nullish(),
  presence_penalty: within(bounds.PENALTY).nullish(),
  frequency_penalty: within(bounds.PENALTY).nullish(),
});

/** The validated request, with unknown fields kept. */
export type ChatCompletionRequestBody = z.infer<typeof chatCompletionRequestSchema>;
/** One validated message. */
export type ChatCompletionMessageBody = z.infer<typeof message>;

/** Top-level fields handled by the gateway itself, never forwarded as extra body. */
export const MODELLED_FIELDS: ReadonlySet<string> = new Set(Object.keys(chatCompletionRequestSchema.shape));
