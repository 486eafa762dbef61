/**
 * JSON Schemas (OpenAPI 3.1 = JSON Schema 2020-12) of the HTTP facade's bodies. The request schema is generated
 * from the zod schema the facade validates with, so it cannot drift; the response schemas mirror
 * src/openai/from-canonical.ts and the routes, and test/docs/openapi.test.ts validates real responses against them
 * with every object closed, so an undocumented field fails the test.
 * @see https://spec.openapis.org/oas/v3.1.0#schema-object
 */
import { z } from "zod";
import { chatCompletionRequestSchema } from "../openai/request-schema.ts";
import { annotation, answerMeta, choiceLogprobs, tokenLogprob, usage } from "./openapi-answer-parts.ts";
import { type JsonSchema, nullable, ref } from "./openapi-json-schema.ts";

export type { JsonSchema } from "./openapi-json-schema.ts";

/** Descriptions of the request's top-level fields (the zod schema carries the constraints). */
const REQUEST_FIELD_DOCS: Readonly<Record<string, string>> = {
  model:
    "Public model name from the gateway's `model_config` (see `GET /v1/models`), or `provider/upstream-model`. " +
    "Defaults to `proxy.default_model`.",
  messages: "The conversation, oldest first.",
  stream: "true: answer with server-sent events (`text/event-stream`) instead of one JSON object.",
  stream_options: "`include_usage: true` adds a last chunk with `usage` and no choices.",
  tools: "Functions the model may call; `parameters` is a JSON Schema.",
  reasoning_effort: "Mapped to each vendor's thinking controls (Anthropic budget, Gemini thinking level).",
};

/** The chat completion request, from the facade's zod schema; `messages` items are lifted to their own schema. */
function requestSchemas(): { request: JsonSchema; message: JsonSchema } {
  const generated = z.toJSONSchema(chatCompletionRequestSchema, {
    target: "draft-2020-12",
    io: "input",
  }) as JsonSchema;
  const { $schema: _dialect, ...request } = generated;
  const properties = { ...(request.properties as Record<string, JsonSchema>) };
  const messages = properties.messages ?? {};
  const message = (messages.items ?? {}) as JsonSchema;
  properties.messages = { ...messages, items: ref("ChatCompletionMessage") };
  for (const [field, description] of Object.entries(REQUEST_FIELD_DOCS)) {
    const property = properties[field];
    if (property !== undefined) properties[field] = { description, ...property };
  }
  return {
    request: {
      ...request,
      properties,
      description:
        "OpenAI's chat completion request. Fields not listed here are accepted and forwarded unchanged to " +
        "OpenAI-compatible upstreams (e.g. vendor extensions such as `enable_thinking`).",
    },
    message: { ...message, description: "One message; `role` selects the shape." },
  };
}

const finishReason: JsonSchema = {
  type: "string",
  description:
    "`stop`, `length`, `tool_calls`, `content_filter`, or the vendor's own reason when it has no OpenAI " +
    "equivalent.",
  examples: ["stop", "tool_calls"],
};

const toolCall: JsonSchema = {
  type: "object",
  required: ["id", "type", "function"],
  properties: {
    id: { type: "string" },
    type: { const: "function" },
    function: {
      type: "object",
      required: ["name", "arguments"],
      properties: {
        name: { type: "string" },
        arguments: { type: "string", description: "JSON text of the arguments; `{}` when there are none." },
      },
    },
  },
};

const completion: JsonSchema = {
  type: "object",
  description: "A whole answer (`stream` false or absent).",
  required: ["id", "object", "created", "model", "choices"],
  properties: {
    id: { type: "string" },
    object: { const: "chat.completion" },
    created: { type: "integer", description: "Unix seconds." },
    model: { type: "string", description: "The public model name the client asked for." },
    choices: {
      type: "array",
      items: {
        type: "object",
        required: ["index", "message", "logprobs", "finish_reason"],
        properties: {
          index: { type: "integer", minimum: 0 },
          message: {
            type: "object",
            required: ["role", "content", "refusal"],
            properties: {
              role: { const: "assistant" },
              content: {
                type: ["string", "null"],
                description: "null when the model only called tools or refused.",
              },
              refusal: { type: ["string", "null"], description: "The model's refusal, when it refused." },
              reasoning_content: {
                type: "string",
                description: "The model's reasoning, when the vendor sends it.",
              },
              tool_calls: { type: "array", items: ref("ToolCall") },
              annotations: { type: "array", items: ref("Annotation") },
            },
          },
          logprobs: nullable(ref("ChoiceLogprobs")),
          finish_reason: ref("FinishReason"),
        },
      },
    },
    usage: ref("Usage"),
    ...answerMeta,
  },
};

const chunk: JsonSchema = {
  type: "object",
  description:
    "One streamed event's data. Choices come interleaved as the vendor sends them; each choice's first delta " +
    "carries `role`, and its deltas carry `content`, `refusal`, `reasoning_content`, `annotations` or " +
    "`tool_calls` fragments (a tool call's first fragment carries `id`, `type` and `function.name`; later ones " +
    "append to `function.arguments`), then a delta `{}` with its `finish_reason`. With " +
    "`stream_options.include_usage` a last chunk has empty `choices` and `usage`.",
  required: ["id", "object", "created", "model", "choices"],
  properties: {
    id: { type: "string" },
    object: { const: "chat.completion.chunk" },
    created: { type: "integer" },
    model: { type: "string" },
    choices: {
      type: "array",
      items: {
        type: "object",
        required: ["index", "delta", "logprobs", "finish_reason"],
        properties: {
          index: { type: "integer", minimum: 0 },
          delta: {
            type: "object",
            properties: {
              role: { const: "assistant" },
              content: { type: "string" },
              refusal: { type: "string" },
              reasoning_content: { type: "string" },
              annotations: {
                type: "array",
                items: ref("Annotation"),
                description: "The whole list of this delta; a client keeps the last one.",
              },
              tool_calls: {
                type: "array",
                items: {
                  type: "object",
                  required: ["index", "function"],
                  properties: {
                    index: { type: "integer", minimum: 0 },
                    id: { type: "string" },
                    type: { const: "function" },
                    function: {
                      type: "object",
                      required: ["arguments"],
                      properties: { name: { type: "string" }, arguments: { type: "string" } },
                    },
                  },
                },
              },
            },
          },
          logprobs: nullable(ref("ChoiceLogprobs")),
          finish_reason: nullable(ref("FinishReason")),
        },
      },
    },
    usage: ref("Usage"),
    ...answerMeta,
  },
};

const errorObject: JsonSchema = {
  type: "object",
  required: ["message", "type", "param", "code"],
  properties: {
    message: { type: "string" },
    type: {
      type: "string",
      examples: ["invalid_request_error", "authentication_error", "rate_limit_error", "server_error"],
    },
    param: { type: ["string", "null"] },
    code: { type: ["string", "null"], examples: ["model_not_found", "rate_limit_exceeded", "timeout"] },
  },
};

const errorResponse: JsonSchema = {
  type: "object",
  description: "OpenAI's error envelope. Messages never contain keys, stack traces or upstream internals.",
  required: ["error"],
  properties: { error: ref("ErrorObject") },
};

const models: JsonSchema = {
  type: "object",
  required: ["object", "data"],
  properties: {
    object: { const: "list" },
    data: {
      type: "array",
      items: {
        type: "object",
        required: ["id", "object", "created", "owned_by"],
        properties: {
          id: { type: "string", description: "Public model name." },
          object: { const: "model" },
          created: { type: "integer" },
          owned_by: { type: "string", description: "The provider the model routes to." },
        },
      },
    },
  },
};

const health: JsonSchema = {
  type: "object",
  required: ["status", "version", "uptime_seconds"],
  properties: {
    status: { const: "ok" },
    version: { type: "string" },
    uptime_seconds: { type: "integer", minimum: 0 },
  },
};

const readiness: JsonSchema = {
  type: "object",
  required: ["status"],
  properties: { status: { enum: ["ready", "draining"] } },
};

const streamEvent: JsonSchema = {
  description:
    "The `data` of one server-sent event: a `ChatCompletionChunk`; or, when the stream fails after it started, an " +
    "`ErrorResponse` as its last event; or the literal `[DONE]` that ends a successful stream.",
  oneOf: [ref("ChatCompletionChunk"), ref("ErrorResponse"), { const: "[DONE]" }],
};

/** Every component schema, by name. */
export function componentSchemas(): Record<string, JsonSchema> {
  const { request, message } = requestSchemas();
  return {
    CreateChatCompletionRequest: request,
    ChatCompletionMessage: message,
    ChatCompletion: completion,
    ChatCompletionChunk: chunk,
    ChatCompletionStreamEvent: streamEvent,
    ToolCall: toolCall,
    FinishReason: finishReason,
    Usage: usage,
    ChoiceLogprobs: choiceLogprobs,
    TokenLogprob: tokenLogprob,
    Annotation: annotation,
    ModelList: models,
    ErrorResponse: errorResponse,
    ErrorObject: errorObject,
    Health: health,
    Readiness: readiness,
  };
}
