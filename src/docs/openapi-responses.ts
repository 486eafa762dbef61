/**
 * `POST /v1/responses` in the OpenAPI document (src/responses/plugin.ts): OpenAI's Responses API, stateless, on
 * every provider type; errors use the chat route's error responses (OpenAI's envelope).
 * @see https://platform.openai.com/docs/api-reference/responses/create
 */
import { type JsonSchema, ref } from "./openapi-json-schema.ts";

const kept: JsonSchema = { description: "Accepted and ignored (the gateway keeps no state)." };

const REQUEST: JsonSchema = {
  type: "object",
  required: ["input"],
  properties: {
    model: { type: "string", description: "Public model name (the default model when absent)." },
    input: {
      description:
        "A string (one user message), or items: `message` (roles user, system, developer with `input_text` / " +
        "`input_image` parts; assistant with `output_text` / `refusal` parts, as a stateless client resends an " +
        "earlier `output`), `function_call`, `function_call_output` (output a string or parts), " +
        "`custom_tool_call`, `custom_tool_call_output`, `reasoning` (its summary is passed on as reasoning; " +
        "its `encrypted_content`, when the gateway sealed it, goes back to the vendor that made it, else it is " +
        "dropped). Item `id`s are accepted.",
      oneOf: [
        { type: "string" },
        { type: "array", items: { type: "object", properties: { type: { type: "string" } } } },
      ],
    },
    instructions: { type: ["string", "null"], description: "Sent as the first system message." },
    tools: {
      type: "array",
      description:
        "`function` tools; `namespace` tools (their functions reach the upstream as `{namespace}__{name}` and " +
        "come back with `namespace`); `custom` tools (a function with one string parameter `input`, answered " +
        "as `custom_tool_call`). Hosted tools (`web_search`, `file_search`, …) are dropped and named in the " +
        "`x-llm-proxy-dropped-tools` header.",
      items: { type: "object", required: ["type"], properties: { type: { type: "string" } } },
    },
    tool_choice: {
      description:
        "`none`, `auto`, `required`, or a function; forcing a hosted tool answers 400 `unsupported_tool`.",
    },
    parallel_tool_calls: { type: "boolean" },
    max_output_tokens: { type: "integer", minimum: 1 },
    temperature: { type: "number", minimum: 0, maximum: 2 },
    top_p: { type: "number", minimum: 0, maximum: 1 },
    text: {
      type: "object",
      properties: {
        format: {
          type: "object",
          required: ["type"],
          properties: {
            type: { enum: ["text", "json_object", "json_schema"] },
            name: { type: "string" },
            schema: { type: "object" },
            strict: { type: "boolean" },
          },
        },
      },
    },
    reasoning: {
      type: "object",
      properties: { effort: { enum: ["none", "minimal", "low", "medium", "high", "xhigh"] } },
    },
    stream: { type: "boolean" },
    store: kept,
    metadata: { type: "object", additionalProperties: { type: "string" } },
    user: { type: "string" },
    include: {
      type: "array",
      items: { type: "string" },
      description:
        "`reasoning.encrypted_content`: reasoning items carry the turn's reasoning state, sealed by the gateway, " +
        "in `encrypted_content` (for tool loops with thinking models); other values are ignored.",
    },
    previous_response_id: { description: "Refused (400 `unsupported_parameter`): resend the history." },
    conversation: { description: "Refused (400 `unsupported_parameter`): resend the history." },
  },
  additionalProperties: kept,
};

const RESPONSE: JsonSchema = {
  type: "object",
  required: ["id", "object", "created_at", "status", "model", "output"],
  properties: {
    id: { type: "string", pattern: "^resp_" },
    object: { const: "response" },
    created_at: { type: "integer" },
    status: { enum: ["completed", "incomplete", "failed"] },
    incomplete_details: {
      anyOf: [
        { type: "object", properties: { reason: { enum: ["max_output_tokens", "content_filter"] } } },
        { type: "null" },
      ],
    },
    error: { anyOf: [{ type: "object" }, { type: "null" }] },
    model: { type: "string" },
    output: {
      type: "array",
      description:
        "`reasoning` (summary of the upstream's reasoning; `encrypted_content` with `include`), `message` (`output_text` / `refusal` parts), " +
        "`function_call` (`call_id` is the upstream's own tool-call id), `custom_tool_call`.",
      items: { type: "object", required: ["type"], properties: { type: { type: "string" } } },
    },
    usage: {
      anyOf: [
        {
          type: "object",
          properties: {
            input_tokens: { type: "integer" },
            input_tokens_details: { type: "object", properties: { cached_tokens: { type: "integer" } } },
            output_tokens: { type: "integer" },
            output_tokens_details: { type: "object", properties: { reasoning_tokens: { type: "integer" } } },
            total_tokens: { type: "integer" },
          },
        },
        { type: "null" },
      ],
    },
  },
};

/** Component schemas of the route. */
export const RESPONSES_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  CreateResponseRequest: REQUEST,
  Response: RESPONSE,
};

/** Path item of the route; `errors` are the chat route's error responses (the same envelope). */
export function responsesPaths(errors: Record<string, JsonSchema>): Record<string, JsonSchema> {
  return {
    "/v1/responses": {
      post: {
        operationId: "createResponse",
        tags: ["responses"],
        summary: "Create a response (OpenAI Responses API, stateless)",
        description:
          "OpenAI's `POST /v1/responses` for the OpenAI SDKs, the Agents SDK, the AI SDK and Codex CLI, on every " +
          "provider type through the same routing, retries and fallbacks as chat. Nothing is stored. " +
          "`stream: true` answers Responses events (`event:` lines, a `sequence_number` on each): " +
          "`response.created`, `response.in_progress`, per item `response.output_item.added` … " +
          "`response.output_item.done`, then one of `response.completed`, `response.incomplete`, `response.failed`.",
        parameters: [{ $ref: "#/components/parameters/RequestId" }],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: ref("CreateResponseRequest"),
              example: { model: "echo-1", input: "Hello", stream: false },
            },
          },
        },
        responses: {
          "200": {
            description: "The response, or its stream of events.",
            headers: {
              "x-request-id": { $ref: "#/components/headers/RequestId" },
              "x-llm-proxy-dropped-tools": {
                description: "The hosted tool types dropped from the request, comma-separated.",
                schema: { type: "string" },
              },
            },
            content: {
              "application/json": { schema: ref("Response") },
              "text/event-stream": { schema: { type: "string", description: "Responses streaming events." } },
            },
          },
          ...errors,
        },
      },
    },
  };
}
