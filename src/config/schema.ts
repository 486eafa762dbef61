/**
 * The YAML config schema. The sections the users' Python proxy reads (os_env, model_config, model_routes,
 * server, proxy, connector) keep their names and meaning, so their files load unchanged; `providers` is ours.
 */
import { z } from "zod";

const portSchema = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();

/** Quirk hooks of OpenAI-compatible vendors that a provider can switch on by name. */
export const QUIRK_NAMES = ["dashscope", "deepseek", "moonshot", "zhipu"] as const;

/** One provider block under `providers:`. Every field overrides the preset of the same (or `preset:`) name. */
export const providerSchema = z.strictObject({
  type: z.enum(["openai", "anthropic", "gemini", "echo"]).optional(),
  preset: z.string().min(1).optional(),
  base_url: z.string().min(1).optional(),
  api_key_env: z.string().min(1).optional(),
  api_key: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  quirks: z.array(z.enum(QUIRK_NAMES)).optional(),
  /** false for vendors that reject `stream_options` (usage is then not requested upstream). */
  stream_options: z.boolean().optional(),
  /** echo: milliseconds between tokens. */
  token_delay_ms: z.number().int().min(0).max(60_000).optional(),
  /** anthropic: the anthropic-version header. */
  anthropic_version: z.string().min(1).optional(),
  /** anthropic: max_tokens sent when the client gives none (Anthropic requires one). */
  default_max_tokens: positiveInt.optional(),
});

const tlsSchema = z.strictObject({
  cert_file: z.string().min(1),
  key_file: z.string().min(1),
});

const serverSchema = z.strictObject({
  host: z.string().min(1).default("0.0.0.0"),
  port: portSchema.default(9000),
  log_level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  workers: positiveInt.default(1),
  /** Largest accepted request body, in bytes. */
  body_limit: positiveInt.default(10 * 1024 * 1024),
  /** Serve TLS with ALPN (h2 and HTTP/1.1) instead of cleartext. */
  tls: tlsSchema.optional(),
});

const proxySchema = z.strictObject({
  /** Total time budget of one request, in seconds (as in the users' files). */
  timeout: z.number().positive().default(600),
  max_retries: z.number().int().min(0).max(10).default(2),
  default_model: z.string().min(1).optional(),
});

const connectorSchema = z.strictObject({
  limit: positiveInt.default(100),
  limit_per_host: positiveInt.default(30),
});

/** The whole file. */
export const configFileSchema = z.strictObject({
  os_env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  model_config: z.record(z.string().min(1), z.string().min(1)).default({}),
  model_routes: z.record(z.string(), z.record(z.string(), z.string().min(1)).nullable()).default({}),
  providers: z.record(z.string().min(1), providerSchema.nullable()).default({}),
  server: serverSchema.prefault({}),
  proxy: proxySchema.prefault({}),
  connector: connectorSchema.prefault({}),
});

/** The file as validated. */
export type ConfigFile = z.infer<typeof configFileSchema>;
/** One provider block as validated. */
export type ProviderBlock = z.infer<typeof providerSchema>;
