/**
 * The admin part of the OpenAPI document: `GET /config` and `POST /config/reload` (src/admin/config-routes.ts),
 * their schemas and their security scheme. Admin keys are separate from client keys (src/auth/auth-hook.ts).
 */
import type { JsonSchema } from "./openapi-schemas.ts";

const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const responseRef = (name: string): JsonSchema => ({ $ref: `#/components/responses/${name}` });
const json = (schema: JsonSchema): JsonSchema => ({ "application/json": { schema } });

/** `security` of the admin routes: an admin key, or nothing for loopback clients when none is configured. */
const ADMIN_SECURITY = [{ adminBearerAuth: [] }, {}];

/** Path items of the admin routes. */
export const ADMIN_PATHS: Readonly<Record<string, JsonSchema>> = {
  "/config": {
    get: {
      operationId: "getConfig",
      tags: ["admin"],
      summary: "The configuration being served, secrets redacted",
      description:
        "The config file's sections with defaults filled in, command-line overrides applied and presets merged; " +
        "every key and secret replaced by a marker, and for each variable the config relies on, whether it is set.",
      security: ADMIN_SECURITY,
      responses: {
        "200": { description: "The effective configuration.", content: json(schemaRef("EffectiveConfig")) },
        "401": responseRef("Unauthorized"),
        "403": responseRef("Forbidden"),
      },
    },
  },
  "/config/reload": {
    post: {
      operationId: "reloadConfig",
      tags: ["admin"],
      summary: "Reload the config file now",
      description:
        "Validates the whole file and swaps in a new runtime; requests in flight finish on the old one. An invalid " +
        "file changes nothing (400, the previous config keeps serving). Any request body is ignored.",
      security: ADMIN_SECURITY,
      responses: {
        "200": { description: "Reloaded.", content: json(schemaRef("ReloadOutcome")) },
        "400": {
          description: "Rejected: the previous configuration keeps serving.",
          content: json(schemaRef("ReloadOutcome")),
        },
        "401": responseRef("Unauthorized"),
        "403": responseRef("Forbidden"),
        "501": {
          description: "The gateway was not started from a config file (embedded use).",
          content: json(schemaRef("ErrorResponse")),
        },
      },
    },
  },
};

/** Component schemas of the admin routes. */
export const ADMIN_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  EffectiveConfig: {
    type: "object",
    required: ["source", "loaded_at", "reloads", "watching", "environment", "config"],
    properties: {
      source: { type: "string", description: "The config file." },
      loaded_at: {
        type: "string",
        format: "date-time",
        description: "When this configuration started serving.",
      },
      reloads: { type: "integer", minimum: 0, description: "Successful reloads since start." },
      watching: { type: "boolean", description: "Whether the file is watched for changes." },
      environment: {
        type: "object",
        description: "Each variable named by `os_env`, a provider's `api_key_env` or an inbound `key_env`.",
        additionalProperties: { enum: ["set", "unset"] },
      },
      config: {
        type: "object",
        description:
          "The YAML file's shape (`model_config`, `providers`, `server`, `proxy`, ...), secrets redacted.",
        additionalProperties: true,
      },
    },
  },
  ReloadOutcome: {
    type: "object",
    required: ["status", "source", "trigger", "duration_ms", "message"],
    properties: {
      status: { enum: ["reloaded", "rejected"] },
      source: { type: "string" },
      trigger: { enum: ["api", "watch", "signal"] },
      duration_ms: { type: "number", minimum: 0 },
      message: { type: "string" },
      issues: {
        type: "array",
        description: "Rejected: every problem, by YAML path.",
        items: {
          type: "object",
          required: ["path", "message"],
          properties: { path: { type: "string" }, message: { type: "string" } },
        },
      },
      models: {
        type: "integer",
        minimum: 0,
        description: "Reloaded: the number of public models now served.",
      },
      restart_required: {
        type: "array",
        items: { type: "string" },
        description: "Reloaded: changed settings that only a restart applies (listen address, limits, TLS).",
      },
      error: { ...schemaRef("ErrorObject"), description: "Rejected: the same in OpenAI's error envelope." },
    },
  },
};

/** The admin key scheme. */
export const ADMIN_SECURITY_SCHEME: JsonSchema = {
  type: "http",
  scheme: "bearer",
  description:
    "`Authorization: Bearer <admin key>`, one of `auth.admin_keys` (client keys do not open admin routes). With no " +
    "admin keys configured, admin routes answer loopback clients only, with no key, and refuse requests that a " +
    "proxy marks as forwarded (Forwarded, X-Forwarded-For, X-Real-IP).",
};
