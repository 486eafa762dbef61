/** OpenAI request JSON → canonical ChatRequest. Validation errors become invalid_request with `param`. */
import type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  JsonObject,
  ResponseFormat,
  ToolChoice,
} from "../core/types.ts";
import { invalidRequest } from "../edge/openai-errors.ts";
import { type CarrierReader, openAssistantCarriers } from "../edge/reasoning-carrier.ts";
import { requestModel } from "../edge/request-model.ts";
import {
  type ChatCompletionMessageBody,
  type ChatCompletionRequestBody,
  chatCompletionRequestSchema,
  MODELLED_FIELDS,
} from "./request-schema.ts";

/** A decoded request and whether the client wants SSE. */
export interface DecodedChatCompletion {
  readonly request: ChatRequest;
  readonly stream: boolean;
}

/**
 * Validates a parsed JSON body and converts it. `defaultModel` fills in a missing or empty model; `carriers` opens
 * the reasoning state the client returned (without it, carriers stay as they came).
 */
export function decodeChatCompletion(
  body: unknown,
  defaultModel: string | undefined,
  carriers?: CarrierReader,
): DecodedChatCompletion {
  const parsed = chatCompletionRequestSchema.safeParse(body);
  if (!parsed.success) throw invalidRequest(parsed.error.issues);
  return {
    request: toCanonicalRequest(parsed.data, defaultModel, carriers),
    stream: parsed.data.stream === true,
  };
}

function toCanonicalRequest(
  request: ChatCompletionRequestBody,
  defaultModel: string | undefined,
  carriers: CarrierReader | undefined,
): ChatRequest {
  const model = requestModel(request.model, defaultModel);
  const extraBody = collectExtraBody(request);
  return {
    model,
    messages: request.messages.map((message) => toCanonicalMessage(message, carriers)),
    temperature: request.temperature ?? undefined,
    topP: request.top_p ?? undefined,
    maxTokens: request.max_tokens ?? undefined,
    maxCompletionTokens: request.max_completion_tokens ?? undefined,
    stop: typeof request.stop === "string" ? [request.stop] : (request.stop ?? undefined),
    n: request.n ?? undefined,
    seed: request.seed ?? undefined,
    user: request.user ?? undefined,
    tools: request.tools?.map(({ function: fn }) => ({
      name: fn.name,
      description: fn.description,
      parameters: fn.parameters as JsonObject | undefined,
      strict: fn.strict ?? undefined,
    })),
    toolChoice: toCanonicalToolChoice(request.tool_choice),
    parallelToolCalls: request.parallel_tool_calls ?? undefined,
    responseFormat: toCanonicalResponseFormat(request.response_format),
    reasoningEffort: request.reasoning_effort ?? undefined,
    presencePenalty: request.presence_penalty ?? undefined,
    frequencyPenalty: request.frequency_penalty ?? undefined,
    includeUsage: request.stream_options?.include_usage === true,
    extraBody,
  };
}

function toCanonicalMessage(
  message: ChatCompletionMessageBody,
  carriers: CarrierReader | undefined,
): ChatMessage {
  switch (message.role) {
    case "system":
    case "developer":
      return { role: message.role, content: message.content, name: message.name };
    case "user":
      return { role: "user", content: toCanonicalParts(message.content), name: message.name };
    case "assistant":
      return toCanonicalAssistant(message, carriers);
    case "tool":
      return {
        role: "tool",
        content: message.content,
        toolCallId: carriers?.vendorId(message.tool_call_id) ?? message.tool_call_id,
      };
  }
}

function toCanonicalAssistant(
  message: Extract<ChatCompletionMessageBody, { role: "assistant" }>,
  carriers: CarrierReader | undefined,
): ChatMessage {
  const { toolCalls, reasoningState } = openAssistantCarriers(
    carriers,
    message.tool_calls?.map((call) => ({
      id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
    })),
    message.reasoning_state ?? undefined,
  );
  return {
    role: "assistant",
    content: assistantText(message.content),
    name: message.name,
    toolCalls,
    reasoningContent: message.reasoning_content ?? undefined,
    ...(reasoningState === undefined ? {} : { reasoningState }),
  };
}

function toCanonicalParts(
  content: Extract<ChatCompletionMessageBody, { role: "user" }>["content"],
): string | ContentPart[] {
  if (typeof content === "string") return content;
  return content.map((part) =>
    part.type === "text"
      ? { type: "text", text: part.text }
      : { type: "image_url", url: part.image_url.url, detail: part.image_url.detail },
  );
}

/** Assistant history keeps only its text: refusal parts are the model's own words, sent back as text. */
function assistantText(
  content: Extract<ChatCompletionMessageBody, { role: "assistant" }>["content"],
): string | null {
  if (content === undefined || content === null) return null;
  if (typeof content === "string") return content;
  return content.map((part) => (part.type === "text" ? part.text : part.refusal)).join("");
}

function toCanonicalToolChoice(choice: ChatCompletionRequestBody["tool_choice"]): ToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (typeof choice === "string") return { type: choice };
  return { type: "function", name: choice.function.name };
}

function toCanonicalResponseFormat(
  format: ChatCompletionRequestBody["response_format"],
): ResponseFormat | undefined {
  if (format === undefined || format === null) return undefined;
  if (format.type !== "json_schema") return { type: format.type };
  const { name, description, schema, strict } = format.json_schema;
  return {
    type: "json_schema",
    name,
    description,
    schema: schema as JsonObject | undefined,
    strict: strict ?? undefined,
  };
}

function collectExtraBody(request: ChatCompletionRequestBody): JsonObject | undefined {
  let extra: JsonObject | undefined;
  for (const [key, value] of Object.entries(request)) {
    if (MODELLED_FIELDS.has(key) || value === undefined) continue;
    extra ??= {};
    // The body came from JSON.parse, so every value is JSON.
    extra[key] = value as JsonObject[string];
  }
  return extra;
}
