/**
 * `GET /v1/models/{model}` in the OpenAPI document (src/openai/model-retrieve.ts): one model of the list, or
 * OpenAI's 404. Fastify serves it as the wildcard `/v1/models/*` so that a name with `/` in it works, sent
 * percent-encoded (`%2F`, as the OpenAI SDK for Node sends it) or as is.
 */
import type { JsonSchema } from "./openapi-schemas.ts";

/** OpenAI's model object, as GET /v1/models lists it. */
const MODEL: JsonSchema = {
  type: "object",
  required: ["id", "object", "created", "owned_by"],
  properties: {
    id: { type: "string", description: "Public model name." },
    object: { const: "model" },
    created: { type: "integer" },
    owned_by: { type: "string", description: "The provider the model routes to." },
  },
};

/** Component schemas of the route. */
export const MODEL_SCHEMAS: Readonly<Record<string, JsonSchema>> = { Model: MODEL };

/** Path items of the route. */
export const MODEL_PATHS: Readonly<Record<string, JsonSchema>> = {
  "/v1/models/{model}": {
    get: {
      operationId: "retrieveModel",
      tags: ["models"],
      summary: "One public model",
      description:
        "A model of `GET /v1/models` (the ones the client key may use), in the same shape. A name with `/` works " +
        "percent-encoded or not (`deepseek-ai%2FDeepSeek-V3` or `deepseek-ai/DeepSeek-V3`).",
      parameters: [
        {
          name: "model",
          in: "path",
          required: true,
          description: "The public model name.",
          schema: { type: "string" },
        },
      ],
      responses: {
        "200": {
          description: "The model.",
          headers: { "x-request-id": { $ref: "#/components/headers/RequestId" } },
          content: { "application/json": { schema: { $ref: "#/components/schemas/Model" } } },
        },
        "401": { $ref: "#/components/responses/Unauthorized" },
        "404": { $ref: "#/components/responses/NotFound" },
      },
    },
  },
};
