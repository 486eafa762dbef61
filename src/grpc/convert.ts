/**
 * Proto request → canonical ChatRequest, the inbound half of the gRPC mapping (convert-response.ts is the other).
 * src/grpc is the only importer of gen/: the rest of the gateway never sees `$typeName`, `{case, value}` oneofs,
 * bigint or proto3's "unset is the zero value". Decoding validates what proto cannot express (ranges, known
 * roles) and throws `invalid_request` ProxyErrors naming the field.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/create (ranges and meanings of the fields)
 */
import type {
  CreateChatCompletionRequest,
  ChatMessage as ProtoChatMessage,
  ContentPart as ProtoContentPart,
  ResponseFormat as ProtoResponseFormat,
  Tool as ProtoTool,
  ToolCall as ProtoToolCall,
  ToolChoice as ProtoToolChoice,
} from "../../gen/llmproxy/v1/chat_pb.ts";
import { ProxyError } from "../core/errors.ts";
// The same bounds as the OpenAI routes, so both edges accept the same requests.
import * as bounds from "../core/request-bounds.ts";
import type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  ReasoningEffort,
  ResponseFormat,
  Role,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from "../core/types.ts";
import { type CarrierReader, openAssistantCarriers } from "../edge/reasoning-carrier.ts";

const ROLES: readonly Role[] = ["system", "developer", "user", "assistant", "tool"];
const REASONING_EFFORTS: readonly ReasoningEffort[] = [
  "none",
  "minimal",
  "low",
  "medium",
  "high",
  "xhigh",
  "max",
];
const TOOL_CHOICE_MODES = ["none", "auto", "required"] as const;
const IMAGE_DETAILS = ["auto", "low", "high"] as const;

/**
 * Decodes and validates a proto request. `defaultModel` fills an empty `model`; `carriers` opens the reasoning
 * state clients return (src/edge/reasoning-carrier.ts). Throws `invalid_request`.
 */
export function toChatRequest(
  request: CreateChatCompletionRequest,
  defaultModel: string | undefined,
  carriers?: CarrierReader,
): ChatRequest {
  const model = request.model === "" ? defaultModel : request.model;
  if (model === undefined || model === "") {
    throw invalid("model is required: this gateway has no default model.", "model");
  }
  checkSizes(request, model);
  return {
    model,
    messages: request.messages.map((message, index) => toChatMessage(message, index, carriers)),
    temperature: inRange(request.temperature, bounds.TEMPERATURE, "temperature"),
    topP: inRange(request.topP, bounds.TOP_P, "top_p"),
    maxTokens: inRange(request.maxTokens, bounds.TOKEN_COUNT, "max_tokens"),
    maxCompletionTokens: inRange(request.maxCompletionTokens, bounds.TOKEN_COUNT, "max_completion_tokens"),
    stop: request.stop.length > 0 ? request.stop : undefined,
    n: inRange(request.n, bounds.CHOICES, "n"),
    seed: toSeed(request.seed),
    user: request.user === "" ? undefined : request.user,
    tools: request.tools.length > 0 ? request.tools.map(toToolDefinition) : undefined,
    toolChoice: toToolChoice(request.toolChoice),
    parallelToolCalls: request.parallelToolCalls,
    responseFormat: toResponseFormat(request.responseFormat),
    reasoningEffort: toReasoningEffort(request.reasoningEffort),
    presencePenalty: inRange(request.presencePenalty, bounds.PENALTY, "presence_penalty"),
    frequencyPenalty: inRange(request.frequencyPenalty, bounds.PENALTY, "frequency_penalty"),
    includeUsage: request.streamOptions?.includeUsage ?? false,
    extraBody: request.extraBody,
  };
}

function checkSizes(request: CreateChatCompletionRequest, model: string): void {
  if (model.length > bounds.MAX_NAME_CHARS) {
    throw invalid(`model must be at most ${bounds.MAX_NAME_CHARS} characters.`, "model");
  }
  if (request.messages.length < bounds.MIN_MESSAGES) {
    throw invalid("messages must contain at least one message.", "messages");
  }
  if (request.stop.length > bounds.MAX_STOP_SEQUENCES) {
    throw invalid(`stop takes at most ${bounds.MAX_STOP_SEQUENCES} sequences.`, "stop");
  }
  if (request.tools.length > bounds.MAX_TOOLS)
    throw invalid(`tools takes at most ${bounds.MAX_TOOLS} tools.`, "tools");
  if (request.user.length > bounds.MAX_NAME_CHARS) {
    throw invalid(`user must be at most ${bounds.MAX_NAME_CHARS} characters.`, "user");
  }
}

function toChatMessage(
  message: ProtoChatMessage,
  index: number,
  carriers: CarrierReader | undefined,
): ChatMessage {
  const path = `messages[${index}]`;
  const role = message.role;
  if (!isOneOf(ROLES, role)) {
    // Quote at most a few characters: the message travels in a header (grpc-message), and a role can be megabytes.
    const shown = role.length > 32 ? `${role.slice(0, 32)}…` : role;
    throw invalid(`${path}.role must be one of ${ROLES.join(", ")}; got "${shown}".`, `${path}.role`);
  }
  const content = toContent(message, path);
  if (content === null && role !== "assistant") {
    throw invalid(`${path}.content is required.`, `${path}.content`);
  }
  if (role === "tool" && message.toolCallId === "") {
    throw invalid(`${path}.tool_call_id is required for role "tool".`, `${path}.tool_call_id`);
  }
  const { toolCalls, reasoningState } = openAssistantCarriers(
    carriers,
    message.toolCalls.length > 0
      ? message.toolCalls.map((call, callIndex) => toToolCall(call, `${path}.tool_calls[${callIndex}]`))
      : undefined,
    role === "assistant" ? message.reasoningState : undefined,
  );
  const toolCallId = message.toolCallId === "" ? undefined : message.toolCallId;
  return {
    role,
    content,
    name: message.name === "" ? undefined : message.name,
    toolCallId: toolCallId === undefined ? undefined : (carriers?.vendorId(toolCallId) ?? toolCallId),
    toolCalls,
    reasoningContent: message.reasoningContent,
    ...(reasoningState === undefined ? {} : { reasoningState }),
  };
}

/** content_parts wins when non-empty (as the proto documents); unset content is null. */
function toContent(message: ProtoChatMessage, path: string): string | readonly ContentPart[] | null {
  if (message.contentParts.length > 0) {
    return message.contentParts.map((part, partIndex) =>
      toContentPart(part, `${path}.content_parts[${partIndex}]`),
    );
  }
  return message.content ?? null;
}

function toContentPart(part: ProtoContentPart, path: string): ContentPart {
  switch (part.part.case) {
    case "text":
      return { type: "text", text: part.part.value };
    case "imageUrl": {
      const { url, detail } = part.part.value;
      if (url === "") throw invalid(`${path}.image_url.url is required.`, `${path}.image_url.url`);
      if (detail === "") return { type: "image_url", url };
      if (!isOneOf(IMAGE_DETAILS, detail)) {
        throw invalid(`${path}.image_url.detail must be auto, low or high.`, `${path}.image_url.detail`);
      }
      return { type: "image_url", url, detail };
    }
    case undefined:
      throw invalid(`${path} must set text or image_url.`, path);
  }
}

function toToolCall(call: ProtoToolCall, path: string): ToolCall {
  checkFunctionType(call.type, path);
  if (call.id === "") throw invalid(`${path}.id is required.`, `${path}.id`);
  if (call.function === undefined || call.function.name === "") {
    throw invalid(`${path}.function.name is required.`, `${path}.function.name`);
  }
  return { id: call.id, name: call.function.name, arguments: call.function.arguments };
}

function toToolDefinition(tool: ProtoTool, index: number): ToolDefinition {
  const path = `tools[${index}]`;
  checkFunctionType(tool.type, path);
  const definition = tool.function;
  if (definition === undefined || definition.name === "") {
    throw invalid(`${path}.function.name is required.`, `${path}.function.name`);
  }
  if (definition.name.length > bounds.MAX_TOOL_NAME_CHARS) {
    const message = `${path}.function.name must be at most ${bounds.MAX_TOOL_NAME_CHARS} characters.`;
    throw invalid(message, `${path}.function.name`);
  }
  return {
    name: definition.name,
    description: definition.description === "" ? undefined : definition.description,
    parameters: definition.parameters,
    strict: definition.strict,
  };
}

/** `type` is always "function" in OpenAI's API; empty (proto's unset) means the same. */
function checkFunctionType(type: string, path: string): void {
  if (type !== "" && type !== "function") throw invalid(`${path}.type must be "function".`, `${path}.type`);
}

function toToolChoice(choice: ProtoToolChoice | undefined): ToolChoice | undefined {
  switch (choice?.choice.case) {
    case undefined:
      return undefined;
    case "mode": {
      const mode = choice.choice.value;
      if (!isOneOf(TOOL_CHOICE_MODES, mode)) {
        throw invalid("tool_choice.mode must be none, auto or required.", "tool_choice.mode");
      }
      return { type: mode };
    }
    case "functionName":
      if (choice.choice.value === "") {
        throw invalid("tool_choice.function_name must not be empty.", "tool_choice.function_name");
      }
      return { type: "function", name: choice.choice.value };
  }
}

function toResponseFormat(format: ProtoResponseFormat | undefined): ResponseFormat | undefined {
  if (format === undefined) return undefined;
  switch (format.type) {
    case "text":
    case "json_object":
      return { type: format.type };
    case "json_schema": {
      const schema = format.jsonSchema;
      if (schema === undefined || schema.name === "") {
        throw invalid("response_format.json_schema.name is required.", "response_format.json_schema.name");
      }
      return {
        type: "json_schema",
        name: schema.name,
        description: schema.description === "" ? undefined : schema.description,
        schema: schema.schema,
        strict: schema.strict,
      };
    }
    default:
      throw invalid("response_format.type must be text, json_object or json_schema.", "response_format.type");
  }
}

function toReasoningEffort(effort: string): ReasoningEffort | undefined {
  if (effort === "") return undefined;
  if (!isOneOf(REASONING_EFFORTS, effort)) {
    throw invalid(`reasoning_effort must be one of ${REASONING_EFFORTS.join(", ")}.`, "reasoning_effort");
  }
  return effort;
}

/** int64 on the wire; the canonical seed is a JS number, so refuse what a double cannot hold exactly. */
function toSeed(seed: bigint | undefined): number | undefined {
  if (seed === undefined) return undefined;
  if (seed > BigInt(Number.MAX_SAFE_INTEGER) || seed < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw invalid("seed must be within ±(2^53 - 1).", "seed");
  }
  return Number(seed);
}

/** Passes an optional number through when it lies in the range (NaN fails the comparison, so it is refused). */
function inRange(value: number | undefined, range: bounds.Range, param: string): number | undefined {
  if (value === undefined) return undefined;
  if (!(value >= range.min && value <= range.max)) {
    throw invalid(`${param} must be between ${range.min} and ${range.max}; got ${value}.`, param);
  }
  return value;
}

function isOneOf<T extends string>(allowed: readonly T[], value: string): value is T {
  return (allowed as readonly string[]).includes(value);
}

function invalid(message: string, param: string): ProxyError {
  return new ProxyError("invalid_request", message, { param });
}
