/**
 * The OpenAPI 3.1 document of the HTTP facade: what `GET /openapi.json`, Swagger UI (`/docs`) and Redoc (`/redoc`)
 * show. Only the HTTP routes are described; the gRPC/Connect routes on the same port are described by
 * proto/llmproxy/v1/chat.proto and served over gRPC reflection, so they are left out on purpose.
 * @see https://spec.openapis.org/oas/v3.1.0
 */
import { ADMIN_PATHS, ADMIN_SCHEMAS, ADMIN_SECURITY_SCHEME } from "./openapi-admin.ts";
import { EMBEDDINGS_PATHS, EMBEDDINGS_SCHEMAS } from "./openapi-embeddings.ts";
import { GOVERNANCE_PATHS, GOVERNANCE_SCHEMAS } from "./openapi-governance.ts";
import { MESSAGES_PATHS, MESSAGES_SCHEMAS } from "./openapi-messages.ts";
import { MODEL_PATHS, MODEL_SCHEMAS } from "./openapi-models.ts";
import { RESPONSES_SCHEMAS, responsesPaths } from "./openapi-responses.ts";
import { componentSchemas, type JsonSchema } from "./openapi-schemas.ts";

const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const responseRef = (name: string): JsonSchema => ({ $ref: `#/components/responses/${name}` });
const headerRef = (name: string): JsonSchema => ({ $ref: `#/components/headers/${name}` });

const REQUEST_ID_HEADER = { "x-request-id": headerRef("RequestId") };
const RETRY_HEADERS = {
  ...REQUEST_ID_HEADER,
  "retry-after": headerRef("RetryAfter"),
  "retry-after-ms": headerRef("RetryAfterMs"),
  "x-should-retry": headerRef("ShouldRetry"),
};

/** Error responses: status → [component name, description, headers]. */
const ERRORS: readonly (readonly [string, string, string, Record<string, JsonSchema>])[] = [
  [
    "400",
    "BadRequest",
    "Malformed JSON, wrong types, missing `messages`, unknown role; upstream 400/422.",
    REQUEST_ID_HEADER,
  ],
  [
    "401",
    "Unauthorized",
    "Missing or unknown key (when the gateway has `auth` keys), or the vendor rejected the gateway's key.",
    REQUEST_ID_HEADER,
  ],
  [
    "403",
    "Forbidden",
    "The key may not use this model or route, or the vendor refused access.",
    REQUEST_ID_HEADER,
  ],
  [
    "404",
    "NotFound",
    "No route for the model (`model_not_found`), or the vendor does not know the upstream model.",
    REQUEST_ID_HEADER,
  ],
  ["413", "TooLarge", "Body over `server.body_limit`.", REQUEST_ID_HEADER],
  [
    "429",
    "RateLimited",
    "The vendor rate-limited the gateway (after retries), or a quota is exhausted.",
    RETRY_HEADERS,
  ],
  [
    "500",
    "InternalError",
    "A provider is misconfigured (e.g. its key variable is unset) or a gateway bug.",
    RETRY_HEADERS,
  ],
  [
    "502",
    "BadGateway",
    "The vendor failed, could not be reached, or broke its protocol (a vendor 5xx passes through).",
    RETRY_HEADERS,
  ],
  ["503", "Overloaded", "The vendor is overloaded (503/529 after retries).", RETRY_HEADERS],
  ["504", "Timeout", "`proxy.timeout` ran out.", RETRY_HEADERS],
];

function errorResponses(statuses: readonly string[]): Record<string, JsonSchema> {
  const selected: Record<string, JsonSchema> = {};
  for (const [status, name] of ERRORS) if (statuses.includes(status)) selected[status] = responseRef(name);
  return selected;
}

const json = (schema: JsonSchema): JsonSchema => ({ "application/json": { schema } });

const STREAM_EXAMPLE =
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"echo-1","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"logprobs":null,"finish_reason":null}]}\n\n' +
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"echo-1","choices":[{"index":0,"delta":{"content":" there"},"logprobs":null,"finish_reason":null}]}\n\n' +
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"echo-1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n' +
  "data: [DONE]\n\n";

const chatCompletions: JsonSchema = {
  post: {
    operationId: "createChatCompletion",
    tags: ["chat"],
    summary: "Create a chat completion (JSON or server-sent events)",
    description:
      "OpenAI's `POST /v1/chat/completions`, routed to the provider configured for `model`. Retries and " +
      "fallbacks happen before the first byte; a stream that fails after it started ends with an error event.",
    parameters: [{ $ref: "#/components/parameters/RequestId" }],
    requestBody: {
      required: true,
      content: {
        "application/json": {
          schema: schemaRef("CreateChatCompletionRequest"),
          examples: {
            stream: {
              summary: "Streaming",
              value: { model: "echo-1", messages: [{ role: "user", content: "Hello" }], stream: true },
            },
            json: {
              summary: "One JSON answer",
              value: { model: "echo-1", messages: [{ role: "user", content: "Hello" }] },
            },
          },
        },
      },
    },
    responses: {
      "200": {
        description: "The answer: JSON when `stream` is false or absent, server-sent events when it is true.",
        headers: REQUEST_ID_HEADER,
        content: {
          "application/json": { schema: schemaRef("ChatCompletion") },
          "text/event-stream": {
            schema: schemaRef("ChatCompletionStreamEvent"),
            example: STREAM_EXAMPLE,
          },
        },
      },
      ...errorResponses(["400", "401", "403", "404", "413", "429", "500", "502", "503", "504"]),
    },
  },
};

const models: JsonSchema = {
  get: {
    operationId: "listModels",
    tags: ["models"],
    summary: "List the public model names",
    responses: {
      "200": {
        description: "The models of the current config.",
        headers: REQUEST_ID_HEADER,
        content: json(schemaRef("ModelList")),
      },
      ...errorResponses(["401"]),
    },
  },
};

const health: JsonSchema = {
  get: {
    operationId: "getHealth",
    tags: ["operations"],
    summary: "Liveness: the process answers",
    security: [],
    responses: { "200": { description: "Alive.", content: json(schemaRef("Health")) } },
  },
};

const ready: JsonSchema = {
  get: {
    operationId: "getReadiness",
    tags: ["operations"],
    summary: "Readiness: a config is loaded and the server is not shutting down",
    description: "gRPC clients get the same state from `grpc.health.v1.Health` (Check and Watch).",
    security: [],
    responses: {
      "200": { description: "Ready for traffic.", content: json(schemaRef("Readiness")) },
      "503": { description: "Draining: shutdown has started.", content: json(schemaRef("Readiness")) },
    },
  },
};

const metrics: JsonSchema = {
  get: {
    operationId: "getMetrics",
    tags: ["operations"],
    summary: "Prometheus metrics",
    description:
      "The gateway's `llm_proxy_*` metrics (requests, latency, upstream attempts, retries, tokens) in " +
      "Prometheus' text format. Needs a client key when the gateway has `auth.keys`.",
    responses: {
      "200": {
        description: "The metrics.",
        content: { "text/plain; version=0.0.4": { schema: { type: "string" } } },
      },
      ...errorResponses(["401"]),
    },
  },
};

function components(governance: boolean): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [, name, description, headers] of ERRORS) {
    responses[name] = { description, headers, content: json(schemaRef("ErrorResponse")) };
  }
  return {
    schemas: {
      ...componentSchemas(),
      ...MODEL_SCHEMAS,
      ...EMBEDDINGS_SCHEMAS,
      ...MESSAGES_SCHEMAS,
      ...RESPONSES_SCHEMAS,
      ...ADMIN_SCHEMAS,
      ...(governance ? GOVERNANCE_SCHEMAS : {}),
    },
    responses,
    parameters: {
      RequestId: {
        name: "x-request-id",
        in: "header",
        required: false,
        description: "Trace id (printable ASCII, at most 128 characters); generated when absent.",
        schema: { type: "string", maxLength: 128 },
      },
    },
    headers: {
      RequestId: {
        description: "The request's id (the caller's, or a generated UUID).",
        schema: { type: "string" },
      },
      RetryAfter: {
        description: "Seconds to wait before retrying, the vendor's own value (rounded up).",
        schema: { type: "string" },
      },
      RetryAfterMs: {
        description: "The same wait in milliseconds, as the OpenAI SDKs read it first.",
        schema: { type: "string" },
      },
      ShouldRetry: {
        description: "`false` when retrying cannot help (quota, non-retryable failures).",
        schema: { type: "string" },
      },
    },
    securitySchemes: {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        description:
          "`Authorization: Bearer <key>`, as the OpenAI SDKs send their `apiKey` (gRPC: `authorization` metadata). " +
          "Checked only when the config lists client keys (`auth.keys`); otherwise any value, or none, is accepted.",
      },
      apiKeyAuth: {
        type: "apiKey",
        in: "header",
        name: "x-api-key",
        description: "The same client keys in `x-api-key`, as Anthropic's API takes them (API routes only).",
      },
      adminBearerAuth: ADMIN_SECURITY_SCHEME,
    },
  };
}

/** Builds the document; `version` is the gateway's, `governance` whether it serves the store's /admin routes. */
export function buildOpenApiDocument(version: string, options: { governance: boolean }): JsonSchema {
  return {
    openapi: "3.1.0",
    info: {
      title: "llm-proxy",
      version,
      summary: "OpenAI-compatible LLM gateway",
      description:
        "The HTTP facade of llm-proxy: point any OpenAI SDK's `base_url` at `<gateway>/v1`. The same port also " +
        "serves `llmproxy.v1.ChatService` and `EmbeddingService` over gRPC, gRPC-web and Connect (see " +
        "`proto/llmproxy/v1/chat.proto` and `embeddings.proto`, " +
        "or list it with `buf curl --list-methods` through gRPC reflection); those routes are not part of this " +
        "document.",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: "/", description: "This gateway" }],
    tags: [
      { name: "chat", description: "Chat completions (OpenAI-compatible)." },
      { name: "models", description: "Configured models." },
      { name: "embeddings", description: "Embeddings (OpenAI-compatible)." },
      { name: "messages", description: "Anthropic's Messages API, for the Anthropic SDKs and Claude Code." },
      {
        name: "responses",
        description: "OpenAI's Responses API (stateless), for Codex CLI and the Agents SDK.",
      },
      { name: "operations", description: "Probes for load balancers and orchestrators (no key needed)." },
      {
        name: "admin",
        description: "Configuration (inspect, hot-reload), virtual keys and the usage report (admin keys).",
      },
    ],
    security: [{ bearerAuth: [] }, {}],
    paths: {
      "/v1/chat/completions": chatCompletions,
      "/v1/models": models,
      ...MODEL_PATHS,
      ...EMBEDDINGS_PATHS,
      ...MESSAGES_PATHS,
      ...responsesPaths(
        errorResponses(["400", "401", "403", "404", "413", "429", "500", "502", "503", "504"]),
      ),
      "/health": health,
      "/ready": ready,
      "/metrics": metrics,
      ...ADMIN_PATHS,
      ...(options.governance ? GOVERNANCE_PATHS : {}),
    },
    components: components(options.governance),
  };
}
