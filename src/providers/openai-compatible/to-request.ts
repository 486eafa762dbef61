/**
 * Canonical ChatRequest → the JSON body of `POST {base}/chat/completions`. Streams unless the caller wants a
 * whole answer (then usage comes with it); a stream asks for usage unless the vendor rejects `stream_options`; unset canonical fields are left out (vendors differ in which
 * defaults they accept). The client's `extraBody` is merged last, so it can add vendor fields or override the
 * client's own parameters, but never a field the gateway decides (src/core/extra-body.ts).
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
import { mergeExtraBody } from "../../core/extra-body.ts";
import type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  JsonObject,
  JsonValue,
  ResponseFormat,
  ToolChoice,
  ToolDefinition,
} from "../../core/types.ts";
import type { OpenAICompatibleQuirks } from "./quirks.ts";

/** Per-provider inputs of the conversion. */
export interface OpenAICompatibleRequestOptions {
  /** The upstream model id (routing already resolved it). */
  readonly model: string;
  /** Ask for a stream (default) or for one whole completion. */
  readonly stream?: boolean;
  /** Send `stream_options: {include_usage: true}` (false for vendors that reject it). */
  readonly streamOptions: boolean;
  readonly quirks: OpenAICompatibleQuirks;
}

/** Builds the upstream body. */
export function toOpenAICompatibleRequest(
  request: ChatRequest,
  options: OpenAICompatibleRequestOptions,
): JsonObject {
  const body: JsonObject = {
    model: options.model,
    messages: request.messages.map((message) => convertMessage(message, options.quirks)),
    stream: options.stream !== false,
  };
  // OpenAI rejects stream_options on a non-streaming call; a whole completion carries its usage anyway.
  if (options.streamOptions && options.stream !== false) body.stream_options = { include_usage: true };
  setIfDefined(body, "temperature", request.temperature);
  setIfDefined(body, "top_p", request.topP);
  setIfDefined(body, "max_tokens", request.maxTokens);
  setIfDefined(body, "max_completion_tokens", request.maxCompletionTokens);
  setIfDefined(body, "stop", request.stop === undefined ? undefined : [...request.stop]);
  setIfDefined(body, "n", request.n);
  setIfDefined(body, "seed", request.seed);
  setIfDefined(body, "user", request.user);
  setIfDefined(body, "presence_penalty", request.presencePenalty);
  setIfDefined(body, "frequency_penalty", request.frequencyPenalty);
  setIfDefined(body, "tools", request.tools?.map(convertTool));
  setIfDefined(
    body,
    "tool_choice",
    request.toolChoice === undefined ? undefined : convertToolChoice(request.toolChoice),
  );
  setIfDefined(body, "parallel_tool_calls", request.parallelToolCalls);
  setIfDefined(
    body,
    "response_format",
    request.responseFormat === undefined ? undefined : convertResponseFormat(request.responseFormat),
  );
  setIfDefined(body, "reasoning_effort", request.reasoningEffort);
  return mergeExtraBody(body, request.extraBody, "replace");
}

function setIfDefined(body: JsonObject, key: string, value: JsonValue | undefined): void {
  if (value !== undefined) body[key] = value;
}

function convertMessage(message: ChatMessage, quirks: OpenAICompatibleQuirks): JsonObject {
  const wire: JsonObject = { role: message.role, content: convertContent(message.content) };
  setIfDefined(wire, "name", message.name);
  setIfDefined(wire, "tool_call_id", message.toolCallId);
  if (message.toolCalls !== undefined && message.toolCalls.length > 0) {
    wire.tool_calls = message.toolCalls.map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments },
    }));
    // DeepSeek and Kimi thinking reject tool-call turns without their reasoning; other vendors (and DeepSeek's
    // older reasoner on plain turns) reject or ignore it, so it is sent only there.
    if (quirks.sendsReasoningContent) setIfDefined(wire, "reasoning_content", message.reasoningContent);
  }
  return wire;
}

function convertContent(content: ChatMessage["content"]): JsonValue {
  if (content === null || typeof content === "string") return content;
  return content.map(convertContentPart);
}

function convertContentPart(part: ContentPart): JsonObject {
  if (part.type === "text") return { type: "text", text: part.text };
  const imageUrl: JsonObject = { url: part.url };
  setIfDefined(imageUrl, "detail", part.detail);
  return { type: "image_url", image_url: imageUrl };
}

function convertTool(tool: ToolDefinition): JsonObject {
  const fn: JsonObject = { name: tool.name };
  setIfDefined(fn, "description", tool.description);
  setIfDefined(fn, "parameters", tool.parameters);
  setIfDefined(fn, "strict", tool.strict);
  return { type: "function", function: fn };
}

function convertToolChoice(choice: ToolChoice): JsonValue {
  return choice.type === "function" ? { type: "function", function: { name: choice.name } } : choice.type;
}

function convertResponseFormat(format: ResponseFormat): JsonObject {
  if (format.type !== "json_schema") return { type: format.type };
  const schema: JsonObject = { name: format.name };
  setIfDefined(schema, "description", format.description);
  setIfDefined(schema, "schema", format.schema);
  setIfDefined(schema, "strict", format.strict);
  return { type: "json_schema", json_schema: schema };
}
