/**
 * `POST /v1/messages` and `POST /v1/messages/count_tokens` in the OpenAPI document (src/messages/plugin.ts):
 * Anthropic's Messages request, answer, stream and error envelope, as the gateway serves them on every provider.
 * @see https://platform.claude.com/docs/en/api/messages
 */
import { type JsonSchema, ref } from "./openapi-json-schema.ts";

const anyFields: JsonSchema = { description: "Kept as sent (passed unchanged to an Anthropic upstream)." };

const REQUEST: JsonSchema = {
  type: "object",
  required: ["model", "max_tokens", "messages"],
  properties: {
    model: { type: "string", minLength: 1, description: "Public model name." },
    max_tokens: { type: "integer", minimum: 1 },
    messages: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["role", "content"],
        properties: {
          role: { enum: ["user", "assistant", "system"] },
          content: {
            description:
              "A string, or blocks: `text`, `image` (base64, url; file only to Anthropic), `tool_use`, " +
              "`tool_result`, `thinking`, `redacted_thinking`, and any other type (passed to Anthropic, dropped " +
              "elsewhere). A `thinking` block whose `signature` the gateway sealed brings another vendor's " +
              "reasoning state back to it (and is never sent to Anthropic).",
            oneOf: [
              { type: "string" },
              {
                type: "array",
                items: { type: "object", required: ["type"], properties: { type: { type: "string" } } },
              },
            ],
          },
        },
        additionalProperties: anyFields,
      },
    },
    system: {
      oneOf: [
        { type: "string" },
        {
          type: "array",
          items: {
            type: "object",
            required: ["type", "text"],
            properties: { type: { const: "text" }, text: { type: "string" } },
            additionalProperties: anyFields,
          },
        },
      ],
    },
    tools: {
      type: "array",
      items: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
    },
    tool_choice: { type: "object", properties: { type: { enum: ["auto", "any", "tool", "none"] } } },
    stop_sequences: { type: "array", items: { type: "string" } },
    temperature: { type: "number", minimum: 0, maximum: 1 },
    top_p: { type: "number", minimum: 0, maximum: 1 },
    top_k: { type: "integer", minimum: 0 },
    stream: { type: "boolean" },
    thinking: { type: "object", properties: { type: { enum: ["enabled", "adaptive", "disabled"] } } },
    output_config: { type: "object", properties: { effort: { enum: ["low", "medium", "high", "max"] } } },
    metadata: { type: "object", properties: { user_id: { type: ["string", "null"] } } },
  },
  additionalProperties: anyFields,
};

const USAGE: JsonSchema = {
  type: "object",
  required: ["input_tokens", "output_tokens"],
  properties: {
    input_tokens: { type: "integer", description: "Without the cache's reads and writes." },
    output_tokens: { type: "integer" },
    cache_read_input_tokens: { type: "integer" },
    cache_creation_input_tokens: { type: "integer" },
  },
};

const BLOCK: JsonSchema = {
  oneOf: [
    {
      type: "object",
      required: ["type", "text"],
      properties: { type: { const: "text" }, text: { type: "string" } },
    },
    {
      type: "object",
      required: ["type", "thinking", "signature"],
      properties: {
        type: { const: "thinking" },
        thinking: { type: "string" },
        signature: { type: "string" },
      },
    },
    {
      type: "object",
      required: ["type", "id", "name", "input"],
      properties: {
        type: { const: "tool_use" },
        id: {
          type: "string",
          pattern: "^toolu_",
          description: "The vendor's id, or `toolu_gw_` + its base64url.",
        },
        name: { type: "string" },
        input: { type: "object" },
      },
    },
  ],
};

const MESSAGE: JsonSchema = {
  type: "object",
  required: ["id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"],
  properties: {
    id: { type: "string", pattern: "^msg_" },
    type: { const: "message" },
    role: { const: "assistant" },
    model: { type: "string" },
    content: { type: "array", items: ref("MessagesContentBlock") },
    stop_reason: {
      enum: ["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"],
      description: "`tool_use` whenever the turn made tool calls, whatever the vendor said.",
    },
    stop_sequence: { type: ["string", "null"] },
    usage: ref("MessagesUsage"),
  },
};

const ERROR: JsonSchema = {
  type: "object",
  required: ["type", "error"],
  properties: {
    type: { const: "error" },
    error: {
      type: "object",
      required: ["type", "message"],
      properties: {
        type: {
          enum: [
            "invalid_request_error",
            "authentication_error",
            "permission_error",
            "not_found_error",
            "request_too_large",
            "rate_limit_error",
            "api_error",
            "overloaded_error",
          ],
        },
        message: { type: "string" },
      },
    },
  },
};

/** Component schemas of the routes. */
export const MESSAGES_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  CreateMessageRequest: REQUEST,
  Message: MESSAGE,
  MessagesContentBlock: BLOCK,
  MessagesUsage: USAGE,
  AnthropicError: ERROR,
  MessageTokensCount: {
    type: "object",
    required: ["input_tokens"],
    properties: { input_tokens: { type: "integer" } },
  },
};

const STATUSES: readonly (readonly [string, string])[] = [
  ["400", "Invalid request (`invalid_request_error`); an Anthropic upstream's own 400 message unchanged."],
  ["401", "Missing or unknown key (`authentication_error`)."],
  ["403", "The key may not use this model (`permission_error`)."],
  ["404", "Unknown model (`not_found_error`)."],
  ["413", "Body over `server.body_limit` (`request_too_large`)."],
  ["429", "Rate limited (`rate_limit_error`)."],
  ["500", "Gateway failure (`api_error`)."],
  ["502", "The vendor failed or could not be reached (`api_error`)."],
  ["504", "A time budget ran out (`api_error`)."],
  ["529", "The vendor is overloaded (`overloaded_error`)."],
];

const errorResponses = (): Record<string, JsonSchema> =>
  Object.fromEntries(
    STATUSES.map(([status, description]) => [
      status,
      { description, content: { "application/json": { schema: ref("AnthropicError") } } },
    ]),
  );

const security = [{ bearerAuth: [] }, { apiKeyAuth: [] }, {}];
const requestId = { "x-request-id": { $ref: "#/components/headers/RequestId" } };

/** Path items of the routes. */
export const MESSAGES_PATHS: Readonly<Record<string, JsonSchema>> = {
  "/v1/messages": {
    post: {
      operationId: "createMessage",
      tags: ["messages"],
      summary: "Create a message (Anthropic Messages API)",
      description:
        "Anthropic's `POST /v1/messages` for the Anthropic SDKs and Claude Code, on every provider type (a query " +
        "such as `?beta=true` is accepted). An Anthropic upstream receives the body unchanged but for the model id " +
        "(and `anthropic-beta`); others get the translation the README describes. `stream: true` answers Anthropic's " +
        "named SSE events; a failure after the start is an `event: error`.",
      security,
      parameters: [{ $ref: "#/components/parameters/RequestId" }],
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: ref("CreateMessageRequest"),
            example: { model: "echo-1", max_tokens: 256, messages: [{ role: "user", content: "Hello" }] },
          },
        },
      },
      responses: {
        "200": {
          description: "The message, or its stream of events.",
          headers: requestId,
          content: {
            "application/json": { schema: ref("Message") },
            "text/event-stream": {
              schema: {
                type: "string",
                description:
                  "`event: message_start`, `content_block_start` / `content_block_delta` / `content_block_stop`, " +
                  "`message_delta`, `message_stop` (or `error`).",
              },
            },
          },
        },
        ...errorResponses(),
      },
    },
  },
  "/v1/messages/count_tokens": {
    post: {
      operationId: "countMessageTokens",
      tags: ["messages"],
      summary: "Count a message's input tokens",
      description:
        "Anthropic's own count for a model routed to an Anthropic provider (the body forwarded unchanged but for the " +
        "model id); for other provider types the gateway's estimate of the system prompt, messages and tools " +
        "(characters / 4 plus framing).",
      security,
      parameters: [{ $ref: "#/components/parameters/RequestId" }],
      requestBody: {
        required: true,
        content: { "application/json": { schema: ref("CreateMessageRequest") } },
      },
      responses: {
        "200": {
          description: "The estimate.",
          headers: requestId,
          content: { "application/json": { schema: ref("MessageTokensCount") } },
        },
        ...errorResponses(),
      },
    },
  },
};
