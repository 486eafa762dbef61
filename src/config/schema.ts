/**
 * The YAML config schema. The sections the users' Python proxy reads (os_env, model_config, model_routes,
 * server, proxy, connector) keep their names and meaning, so their files load unchanged; `providers` is ours.
 */
import { z } from "zod";
import { keyLimitsSchema } from "../governance/limits.ts";
import { pricesSchema } from "../governance/prices.ts";
import { reasoningSchema } from "./reasoning-keys.ts";

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
  /**
   * Qianfan: variables holding an IAM Access Key and Secret Key, from which bearer tokens are minted when no API
   * key is set (the qianfan preset reads QIANFAN_ACCESS_KEY and QIANFAN_SECRET_KEY).
   */
  access_key_env: z.string().min(1).optional(),
  secret_key_env: z.string().min(1).optional(),
  /** Qianfan: the IAM endpoint that mints the tokens (default https://iam.bj.baidubce.com). */
  iam_url: z.url({ protocol: /^https?$/ }).optional(),
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
  /** Most inputs the vendor embeds per call: larger requests are split and reassembled in order. */
  max_embedding_batch: positiveInt.optional(),
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
  /** Seconds a client has to send its request headers (slow-client guard; capped at request_timeout). */
  headers_timeout: z.number().positive().max(3600).default(10),
  /** Seconds a client has to send its whole request, body included; the response (a stream) is not limited. */
  request_timeout: z.number().positive().max(3600).default(60),
  /** Reload the config when its file changes on disk (POST /config/reload works either way). */
  watch_config: z.boolean().default(true),
  /** Seconds that SIGTERM/SIGINT wait for in-flight requests and streams before ending them; 0 ends them at once. */
  drain_timeout: z.number().min(0).max(3600).default(30),
  /** Write the logs to this file instead of stdout (reopened on SIGHUP; rotation is the platform's job). */
  log_file: z.string().min(1).optional(),
  /**
   * V8's heap growing factor over the live heap after a full collection, in percent (1 + percent/100); 0 keeps
   * V8's own (up to 4 ×). Lower means less RSS with many open streams and more full collections (README
   * "Performance").
   */
  heap_growing_percent: z.number().int().min(0).max(300).default(0),
  /**
   * Open client connections per process (each worker); more are closed as they are accepted. Each proxied
   * HTTP/1.1 request also holds an upstream connection, so keep it under about half of the file descriptor limit.
   */
  max_connections: positiveInt.default(10_000),
});

const seconds = z.number().positive().max(86_400);

/**
 * Caps on what one upstream answer may make the gateway hold. Real answers stay far below them: a whole completion
 * of 128k output tokens is about 1 MB of JSON, one with base64 audio a few MB; the largest single events are inline
 * images (Gemini image models send each one in one event: about 3 MB for 1024 px, under 10 MB for 2K), while text
 * deltas are under 1 KB.
 */
const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
const DEFAULT_MAX_SSE_EVENT_BYTES = 16 * 1024 * 1024;

const cooldownSchema = z.strictObject({
  /** Consecutive failures after which a deployment is cooled down. */
  failures: positiveInt.default(3),
  /** Seconds a cooled-down deployment is skipped before one probe request may try it again. */
  seconds: seconds.default(30),
});

const proxySchema = z.strictObject({
  /** Total time budget of one request, in seconds (as in the users' files). */
  timeout: seconds.default(600),
  /** Seconds to open a connection to an upstream. */
  connect_timeout: seconds.default(10),
  /** Seconds an attempt may wait for its first chunk before it is retried elsewhere. Default: timeout. */
  first_token_timeout: seconds.optional(),
  /** Longest silence between two chunks of a started stream, in seconds. */
  stream_idle_timeout: seconds.default(120),
  max_retries: z.number().int().min(0).max(10).default(2),
  /** Longest retry-after (seconds) the gateway waits for; a longer one moves on to the next deployment. */
  max_retry_wait: z.number().min(0).max(600).default(20),
  default_model: z.string().min(1).optional(),
  cooldown: cooldownSchema.prefault({}),
  /** Largest upstream answer read whole (a non-streaming completion, an error body), in bytes. */
  max_response_bytes: positiveInt.default(DEFAULT_MAX_RESPONSE_BYTES),
  /** Largest single server-sent event of an upstream stream (everything up to its blank line), in bytes. */
  max_sse_event_bytes: positiveInt.default(DEFAULT_MAX_SSE_EVENT_BYTES),
  /** Most inputs one embeddings request may hold (OpenAI's own cap by default); more are answered 400. */
  max_embedding_inputs: positiveInt.max(1_000_000).default(2048),
});

/** One deployment of a public model: a provider, an optional upstream model id and a weight. */
const deploymentSchema = z.union([
  z.string().min(1),
  z.strictObject({
    provider: z.string().min(1),
    /** Upstream model id; default: model_routes[provider][public model], else the public name. */
    model: z.string().min(1).optional(),
    weight: z.number().positive().max(1_000_000).default(1),
  }),
]);

/** model_config value: one provider name (the users' format), or several weighted deployments. */
const modelTargetSchema = z.union([z.string().min(1), z.array(deploymentSchema).min(1)]);

/** Public model → ordered list of other public models to try when all its deployments fail. */
const fallbackListSchema = z.record(z.string().min(1), z.array(z.string().min(1)).min(1));

const connectorSchema = z.strictObject({
  limit: positiveInt.default(100),
  // Connections per vendor origin, high enough by default not to throttle a gateway's own traffic: the Python
  // proxy's 30 queues bursts in the pool (100 concurrent one-second calls take about 4 s). Files that set 30
  // keep it.
  limit_per_host: positiveInt.default(1000),
});

/** Fields of an inbound key: a name for logs, and the key given as exactly one of key, key_sha256, key_env. */
const keyFields = {
  name: z.string().min(1).max(64),
  /** The key itself (at least 16 characters). */
  key: z.string().min(16).max(512).optional(),
  /** The SHA-256 of the key in hex, so the file holds no usable secret. */
  key_sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters (the SHA-256 of the key)")
    .optional(),
  /** A variable holding the key (environment or os_env). */
  key_env: z.string().min(1).optional(),
};

const exactlyOneKey = (entry: { key?: string; key_sha256?: string; key_env?: string }): boolean =>
  [entry.key, entry.key_sha256, entry.key_env].filter((value) => value !== undefined).length === 1;
const exactlyOneKeyMessage = { message: "give exactly one of key, key_sha256, key_env" };

/** Inbound authentication; with no `keys` the API is open (a startup warning says so off loopback). */
const authSchema = z.strictObject({
  /** Client keys accepted as `Authorization: Bearer` (HTTP) or `authorization` metadata (RPC). */
  keys: z
    .array(
      z
        .strictObject({
          ...keyFields,
          /** Public models this key may use (exact names, or a prefix ending in `*`); default: all. */
          models: z.array(z.string().min(1)).min(1).optional(),
          /** rpm, tpm, max_parallel, budget_usd per budget_period (src/governance/limits.ts); each optional. */
          limits: keyLimitsSchema.optional(),
        })
        .refine(exactlyOneKey, exactlyOneKeyMessage),
    )
    .default([]),
  /** Keys for GET /config and POST /config/reload (client keys do not open them). */
  admin_keys: z.array(z.strictObject(keyFields).refine(exactlyOneKey, exactlyOneKeyMessage)).default([]),
  /**
   * true: serving without client keys (and admin keys) is deliberate. A reload that would drop every client or
   * every admin key is refused without it, so a cut-off file cannot open the gateway. Contradicts `keys`.
   */
  open: z.boolean().optional(),
});

const openWithoutKeys = (auth: z.infer<typeof authSchema>): boolean =>
  auth.open !== true || auth.keys.length === 0;
const openWithKeysMessage = {
  path: ["open"],
  message: "open: true says the API needs no client key, yet auth.keys lists some: remove one or the other",
};

/** Tracing; off unless enabled here or by an OTEL_EXPORTER_OTLP_*ENDPOINT variable. */
const telemetrySchema = z.strictObject({
  /** true: trace (to localhost:4318 unless an endpoint is given); false: never, whatever OTEL_* says. */
  enabled: z.boolean().optional(),
  /** OTLP/HTTP base URL, as OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://jaeger:4318); `/v1/traces` is appended. */
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  /** service.name of the spans; default OTEL_SERVICE_NAME, else llm-proxy. */
  service_name: z.string().min(1).optional(),
  /** Share of new traces kept (parent-based: a caller's sampled flag is followed); default 1. */
  sample_ratio: z.number().min(0).max(1).optional(),
  /** Headers sent with each export (e.g. a collector's auth). */
  headers: z.record(z.string(), z.string()).optional(),
});

/**
 * The governance store: virtual keys and the spend log (an embedded SQLite file by default), and for many replicas
 * the shared homes of section "scale-out" (Redis counters, PostgreSQL keys and spend log).
 */
const storeSchema = z.strictObject({
  /** The SQLite file, relative to the config file's folder; `:memory:` keeps nothing past the process (tests). */
  path: z.string().min(1).default("data/llm-proxy.db"),
  /** Spend-log rows older than this many days are deleted (at start and hourly); default: kept forever. */
  retention_days: positiveInt.max(36_500).optional(),
  /** Redis for limit counters shared by many replicas. */
  redis_url: z.url({ protocol: /^rediss?$/ }).optional(),
  /** PostgreSQL for keys and the spend log shared by many replicas (instead of the SQLite file). */
  postgres_url: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** With Redis unreachable: `open` keeps serving with per-replica counting, `closed` answers 503. */
  fail_mode: z.enum(["open", "closed"]).default("open"),
  /**
   * false: no spend-log rows are written (keys and limits still work, but `GET /admin/usage` has nothing and
   * budgets start from zero after a restart); default true.
   */
  spend_log: z.boolean().default(true),
});

/** The whole file. */
export const configFileSchema = z.strictObject({
  os_env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  model_config: z.record(z.string().min(1), modelTargetSchema).default({}),
  model_routes: z.record(z.string(), z.record(z.string(), z.string().min(1)).nullable()).default({}),
  providers: z.record(z.string().min(1), providerSchema.nullable()).default({}),
  server: serverSchema.prefault({}),
  proxy: proxySchema.prefault({}),
  /** Keys sealing the reasoning state clients return in tool loops (src/config/reasoning-keys.ts). */
  reasoning: reasoningSchema.prefault({}),
  connector: connectorSchema.prefault({}),
  /** Tried in order when a model fails with rate limits, overloads, 5xx, timeouts or unusable credentials. */
  fallbacks: fallbackListSchema.default({}),
  /** Tried in order when a model rejects the request as too long for its context window. */
  context_window_fallbacks: fallbackListSchema.default({}),
  /** Inbound client and admin keys (optional). */
  auth: authSchema.refine(openWithoutKeys, openWithKeysMessage).prefault({}),
  /** OpenTelemetry tracing (OTLP/HTTP); read at start only. */
  telemetry: telemetrySchema.prefault({}),
  /** Keys and the spend log (src/governance/); on by default as one SQLite file. */
  store: storeSchema.prefault({}),
  /** USD per million tokens by public model: input, cached_input, cache_write_input, output (src/governance/prices.ts). */
  prices: pricesSchema.default({}),
});

/** The file as validated. */
export type ConfigFile = z.infer<typeof configFileSchema>;
/** One provider block as validated. */
export type ProviderBlock = z.infer<typeof providerSchema>;
