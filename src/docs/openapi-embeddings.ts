/**
 * `POST /v1/embeddings` in the OpenAPI document (src/openai/embeddings-route.ts): OpenAI's request and answer.
 * A base64 request (the official SDKs' default) gets each vector as base64 of little-endian float32.
 * @see https://platform.openai.com/docs/api-reference/embeddings/create
 */
import type { JsonSchema } from "./openapi-schemas.ts";

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const tokens: JsonSchema = { type: "array", items: { type: "integer", minimum: 0 }, minItems: 1 };

const REQUEST: JsonSchema = {
  type: "object",
  required: ["input"],
  properties: {
    model: { type: "string", description: "Public model name; absent or empty: `proxy.default_model`." },
    input: {
      description:
        "What to embed: a string, an array of strings, an array of token ids, or an array of such arrays; one " +
        "vector per item, in order. At most `proxy.max_embedding_inputs` items (default 2048).",
      oneOf: [
        { type: "string", minLength: 1 },
        { type: "array", items: { type: "string", minLength: 1 }, minItems: 1 },
        tokens,
        { type: "array", items: tokens, minItems: 1 },
      ],
    },
    encoding_format: {
      enum: ["float", "base64"],
      default: "float",
      description:
        "`float`: JSON numbers as the vendor sent them. `base64`: base64 of little-endian float32 values, what the " +
        "official OpenAI SDKs ask for by default and decode.",
    },
    dimensions: {
      type: "integer",
      minimum: 1,
      description: "Output dimensions (models that can shorten vectors).",
    },
    user: { type: "string", description: "The end user, passed to vendors that take it." },
  },
  additionalProperties: { description: "Vendor fields (e.g. DashScope's `text_type`), passed on as is." },
};

const EMBEDDING: JsonSchema = {
  type: "object",
  required: ["object", "index", "embedding"],
  properties: {
    object: { const: "embedding" },
    index: { type: "integer", description: "The input's position." },
    embedding: {
      oneOf: [
        { type: "array", items: { type: "number" } },
        {
          type: "string",
          description: "base64 of little-endian float32 values (`encoding_format: base64`).",
        },
      ],
    },
  },
};

const RESPONSE: JsonSchema = {
  type: "object",
  required: ["object", "data", "model", "usage"],
  properties: {
    object: { const: "list" },
    data: { type: "array", items: ref("Embedding") },
    model: { type: "string", description: "The public model name of the request." },
    usage: {
      type: "object",
      required: ["prompt_tokens", "total_tokens"],
      properties: {
        prompt_tokens: { type: "integer", description: "0 when the vendor reports none (Gemini)." },
        total_tokens: { type: "integer" },
      },
    },
  },
};

/** Component schemas of the route. */
export const EMBEDDINGS_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  CreateEmbeddingsRequest: REQUEST,
  Embedding: EMBEDDING,
  EmbeddingList: RESPONSE,
};

const errors = (statuses: readonly [string, string][]): Record<string, JsonSchema> =>
  Object.fromEntries(statuses.map(([status, name]) => [status, { $ref: `#/components/responses/${name}` }]));

/** Path items of the route. */
export const EMBEDDINGS_PATHS: Readonly<Record<string, JsonSchema>> = {
  "/v1/embeddings": {
    post: {
      operationId: "createEmbeddings",
      tags: ["embeddings"],
      summary: "Create embeddings",
      description:
        "OpenAI's `POST /v1/embeddings`, routed like chat (retries, fallbacks, keys). OpenAI-compatible vendors get " +
        "`/embeddings` (split by the provider's `max_embedding_batch`, e.g. DashScope's 10), Gemini " +
        "`batchEmbedContents`, echo deterministic vectors; a model whose provider has no embeddings (Anthropic) is " +
        "answered 400. gRPC: `llmproxy.v1.EmbeddingService/CreateEmbeddings`.",
      parameters: [{ $ref: "#/components/parameters/RequestId" }],
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: ref("CreateEmbeddingsRequest"),
            examples: {
              texts: { summary: "Two texts", value: { model: "echo-embed", input: ["hello", "world"] } },
              base64: {
                summary: "As the OpenAI SDKs send it",
                value: { model: "echo-embed", input: "hello", encoding_format: "base64" },
              },
            },
          },
        },
      },
      responses: {
        "200": {
          description: "One embedding per input, in order.",
          headers: { "x-request-id": { $ref: "#/components/headers/RequestId" } },
          content: { "application/json": { schema: ref("EmbeddingList") } },
        },
        ...errors([
          ["400", "BadRequest"],
          ["401", "Unauthorized"],
          ["403", "Forbidden"],
          ["404", "NotFound"],
          ["413", "TooLarge"],
          ["429", "RateLimited"],
          ["500", "InternalError"],
          ["502", "BadGateway"],
          ["503", "Overloaded"],
          ["504", "Timeout"],
        ]),
      },
    },
  },
};
