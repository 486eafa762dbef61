/**
 * The governance part of the OpenAPI document: virtual keys (`/admin/keys`, src/admin/keys-routes.ts) and the
 * usage report (`/admin/usage`, src/admin/usage-routes.ts). Served only by a gateway with a store (every process
 * started from the command line), so the document lists them only then. Always behind an admin key.
 */
import type { JsonSchema } from "./openapi-schemas.ts";

const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const responseRef = (name: string): JsonSchema => ({ $ref: `#/components/responses/${name}` });
const json = (schema: JsonSchema): JsonSchema => ({ "application/json": { schema } });
const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: "null" }] });

/** Always an admin key: unlike /config, no loopback exception. */
const ADMIN_KEY_ONLY = [{ adminBearerAuth: [] }];

const errors = (...statuses: string[]): Record<string, JsonSchema> => {
  const all: Record<string, JsonSchema> = {
    "400": {
      description: "Invalid input: the message names each field at fault.",
      content: json(schemaRef("ErrorResponse")),
    },
    "401": responseRef("Unauthorized"),
    "403": {
      description: "No admin keys are configured (`admin_key_required`): the admin API stays closed.",
      content: json(schemaRef("ErrorResponse")),
    },
    "404": {
      description: "No key with that id (`key_not_found`).",
      content: json(schemaRef("ErrorResponse")),
    },
    "409": {
      description: "A key from the config file (`file:<name>`): change it in the file (`file_key_readonly`).",
      content: json(schemaRef("ErrorResponse")),
    },
  };
  const picked: Record<string, JsonSchema> = {};
  for (const status of statuses) {
    const response = all[status];
    if (response !== undefined) picked[status] = response;
  }
  return picked;
};

const idParameter: JsonSchema = {
  name: "id",
  in: "path",
  required: true,
  description: "`key_...` for a key made here, `file:<name>` for a key of the config file.",
  schema: { type: "string", maxLength: 200 },
};

const keyResponse = (description: string): JsonSchema => ({
  description,
  content: json(schemaRef("VirtualKey")),
});

/** Path items of the governance routes. */
export const GOVERNANCE_PATHS: Readonly<Record<string, JsonSchema>> = {
  "/admin/keys": {
    post: {
      operationId: "createKey",
      tags: ["admin"],
      summary: "Create a virtual key",
      description:
        "Makes a client key (`sk-llmp-` and 43 random characters). The answer carries it in `key`, this once: the " +
        "gateway keeps only its SHA-256. Every worker and replica accepts it within a second.",
      security: ADMIN_KEY_ONLY,
      requestBody: { required: true, content: json(schemaRef("CreateKeyRequest")) },
      responses: {
        "201": {
          description: "Created; `key` is shown only here.",
          content: json(schemaRef("CreatedVirtualKey")),
        },
        ...errors("400", "401", "403"),
      },
    },
    get: {
      operationId: "listKeys",
      tags: ["admin"],
      summary: "List the keys",
      description:
        "The config file's client keys (`source: file`), then the keys made here, revoked ones included. Never a secret.",
      security: ADMIN_KEY_ONLY,
      responses: {
        "200": { description: "Every key.", content: json(schemaRef("VirtualKeyList")) },
        ...errors("401", "403"),
      },
    },
  },
  "/admin/keys/{id}": {
    parameters: [idParameter],
    get: {
      operationId: "getKey",
      tags: ["admin"],
      summary: "One key",
      security: ADMIN_KEY_ONLY,
      responses: { "200": keyResponse("The key."), ...errors("400", "401", "403", "404") },
    },
    patch: {
      operationId: "updateKey",
      tags: ["admin"],
      summary: "Change a key's name, models, limits or expiry",
      description: "Fields left out stay as they are; `null` clears `models`, `limits` or `expires_at`.",
      security: ADMIN_KEY_ONLY,
      requestBody: { required: true, content: json(schemaRef("UpdateKeyRequest")) },
      responses: { "200": keyResponse("The key as changed."), ...errors("400", "401", "403", "404", "409") },
    },
    delete: {
      operationId: "revokeKey",
      tags: ["admin"],
      summary: "Revoke a key",
      description:
        "The next request with it gets 401 `invalid_api_key` (on this worker at once, on the others within a " +
        "second). The key stays listed, `revoked: true`, for the spend log's sake.",
      security: ADMIN_KEY_ONLY,
      responses: { "200": keyResponse("The key, revoked."), ...errors("400", "401", "403", "404", "409") },
    },
  },
  "/admin/usage": {
    get: {
      operationId: "getUsage",
      tags: ["admin"],
      summary: "Requests, tokens and cost from the spend log, by key, model or day",
      security: ADMIN_KEY_ONLY,
      parameters: [
        {
          name: "from",
          in: "query",
          description: "ISO date or date-time with offset, inclusive.",
          schema: { type: "string" },
        },
        {
          name: "to",
          in: "query",
          description: "ISO date (the end of that day) or date-time with offset, exclusive.",
          schema: { type: "string" },
        },
        { name: "key", in: "query", description: "A key id or name.", schema: { type: "string" } },
        { name: "model", in: "query", description: "A public model name.", schema: { type: "string" } },
        { name: "group_by", in: "query", schema: { enum: ["key", "model", "day"], default: "key" } },
      ],
      responses: {
        "200": { description: "One entry per group.", content: json(schemaRef("UsageReport")) },
        ...errors("400", "401", "403"),
      },
    },
  },
};

const keyLimits: JsonSchema = {
  type: "object",
  additionalProperties: false,
  description: "Each optional; see README “Limits”.",
  properties: {
    rpm: { type: "integer", minimum: 1, description: "Requests per rolling minute." },
    tpm: { type: "integer", minimum: 1, description: "Input + output tokens per rolling minute." },
    max_parallel: { type: "integer", minimum: 1, description: "Requests in flight at once." },
    budget_usd: { type: "number", exclusiveMinimum: 0, description: "USD per budget_period." },
    budget_period: { enum: ["daily", "weekly", "monthly", "total"], default: "monthly" },
  },
};

const models: JsonSchema = {
  type: "array",
  minItems: 1,
  maxItems: 256,
  items: { type: "string", minLength: 1, maxLength: 256 },
  description: "Public models it may use: exact names, or prefixes ending in `*`. Absent or null: all.",
};
const name: JsonSchema = { type: "string", minLength: 1, maxLength: 128 };
const expiresAt: JsonSchema = {
  type: "string",
  description: "ISO 8601 date-time with offset, or a date (its start, UTC); must lie ahead.",
};

const virtualKeyProperties: Record<string, JsonSchema> = {
  id: { type: "string", description: "`key_...`, or `file:<name>` for a key of the config file." },
  name: { type: "string" },
  source: { enum: ["api", "file"] },
  key_prefix: nullable({ type: "string", description: "The secret's first 12 characters, to recognise it." }),
  models: nullable({ type: "array", items: { type: "string" } }),
  limits: nullable(schemaRef("KeyLimits")),
  created_at: nullable({ type: "string", format: "date-time" }),
  expires_at: nullable({ type: "string", format: "date-time" }),
  revoked: { type: "boolean" },
};
const virtualKeyRequired = Object.keys(virtualKeyProperties);

const usageCounts: Record<string, JsonSchema> = {
  requests: { type: "integer", minimum: 0 },
  input_tokens: { type: "integer", minimum: 0 },
  cached_tokens: { type: "integer", minimum: 0 },
  output_tokens: { type: "integer", minimum: 0 },
  cost_usd: { type: "number", minimum: 0, description: "Requests of models without a price add nothing." },
};

/** Component schemas of the governance routes. */
export const GOVERNANCE_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  KeyLimits: keyLimits,
  CreateKeyRequest: {
    type: "object",
    additionalProperties: false,
    required: ["name"],
    properties: { name, models, limits: schemaRef("KeyLimits"), expires_at: expiresAt },
  },
  UpdateKeyRequest: {
    type: "object",
    additionalProperties: false,
    properties: {
      name,
      models: nullable(models),
      limits: nullable(schemaRef("KeyLimits")),
      expires_at: nullable(expiresAt),
    },
  },
  VirtualKey: { type: "object", required: virtualKeyRequired, properties: virtualKeyProperties },
  CreatedVirtualKey: {
    type: "object",
    required: [...virtualKeyRequired, "key"],
    properties: {
      ...virtualKeyProperties,
      key: {
        type: "string",
        description: "The secret, shown this once: send it as `Authorization: Bearer`.",
      },
    },
  },
  VirtualKeyList: {
    type: "object",
    required: ["data"],
    properties: { data: { type: "array", items: schemaRef("VirtualKey") } },
  },
  UsageReport: {
    type: "object",
    required: ["data"],
    properties: {
      data: {
        type: "array",
        items: {
          oneOf: [
            {
              type: "object",
              required: ["key_id", "key_name", ...Object.keys(usageCounts)],
              properties: {
                key_id: nullable({ type: "string", description: "null: requests made without a key." }),
                key_name: nullable({ type: "string" }),
                ...usageCounts,
              },
            },
            {
              type: "object",
              required: ["model", ...Object.keys(usageCounts)],
              properties: { model: nullable({ type: "string" }), ...usageCounts },
            },
            {
              type: "object",
              required: ["day", ...Object.keys(usageCounts)],
              properties: {
                day: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$", description: "UTC." },
                ...usageCounts,
              },
            },
          ],
        },
      },
    },
  },
};
