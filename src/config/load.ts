/**
 * Loads a YAML config file: parse, validate with zod, merge presets, check cross-references. Every problem
 * is reported with its YAML path, all at once.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import type { Config, DeploymentConfig, ProviderConfig, QuirkName, RouteConfig } from "./config.ts";
import { ConfigError, type ConfigIssue } from "./config-error.ts";
import { PROVIDER_PRESETS, type ProviderPreset } from "./presets.ts";
import { type ConfigFile, configFileSchema, type ProviderBlock } from "./schema.ts";

const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";
const DEFAULT_MAX_TOKENS = 4096;
/** Baidu's IAM endpoint, where Qianfan bearer tokens are minted from an access key. */
const DEFAULT_IAM_URL = "https://iam.bj.baidubce.com";
const NO_MODELS =
  "no models: the file defines no model_config entry and no provider (is it empty or cut short?); add at least one";

/** Reads and validates a config file. Throws ConfigError. */
export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
    throw new ConfigError(path, [{ path: "", message: `cannot read the file (${reason})` }]);
  }
  return parseConfig(text, path);
}

/** Validates config text; `source` names it in messages. Throws ConfigError. */
export function parseConfig(text: string, source: string): Config {
  const document = parseDocument(text, { prettyErrors: false });
  if (document.errors.length > 0) {
    throw new ConfigError(
      source,
      document.errors.map((error) => ({
        path: "",
        message: `YAML syntax (${position(text, error.pos[0])}): ${error.message.split("\n")[0]}`,
      })),
    );
  }
  const content: unknown = document.toJS();
  // An empty file is what a truncating save or a failed copy leaves: say so rather than "no models".
  if (content === null || content === undefined) {
    throw new ConfigError(source, [{ path: "", message: "the file is empty (no YAML content)" }]);
  }
  const parsed = configFileSchema.safeParse(content);
  if (!parsed.success) throw new ConfigError(source, parsed.error.issues.map(toConfigIssue));
  return resolveConfig(parsed.data, source);
}

/** "line L, column C" of an offset: where, without quoting the line (a broken line may hold a key). */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return `line ${line}, column ${offset - before.lastIndexOf("\n")}`;
}

function toConfigIssue(issue: z.core.$ZodIssue): ConfigIssue {
  return { path: issue.path.map(String).join("."), message: issue.message };
}

function resolveConfig(file: ConfigFile, source: string): Config {
  const issues: ConfigIssue[] = [];
  const providers = resolveProviders(file, issues);
  const routes = resolveRoutes(file, providers, issues);
  // No public model and no provider to address directly (`provider/model`): nothing to serve, so the file is a
  // cut-off or unfinished one.
  if (Object.keys(file.model_config).length === 0 && Object.keys(file.providers).length === 0) {
    issues.push({ path: "model_config", message: NO_MODELS });
  }
  const defaultModel = file.proxy.default_model;
  if (defaultModel !== undefined && !routes.some((route) => route.publicModel === defaultModel)) {
    issues.push({ path: "proxy.default_model", message: `'${defaultModel}' is not a model in model_config` });
  }
  if (issues.length > 0) throw new ConfigError(source, issues);
  const tls = file.server.tls;
  return deepFreeze({
    source,
    file,
    providers,
    routes,
    server: {
      host: file.server.host,
      port: file.server.port,
      logLevel: file.server.log_level,
      workers: file.server.workers,
      bodyLimit: file.server.body_limit,
      tls: tls === undefined ? undefined : { certFile: tls.cert_file, keyFile: tls.key_file },
      headersTimeoutMs: Math.round(file.server.headers_timeout * 1000),
      requestTimeoutMs: Math.round(file.server.request_timeout * 1000),
      watchConfig: file.server.watch_config,
      drainTimeoutMs: Math.round(file.server.drain_timeout * 1000),
      logFile: file.server.log_file,
      heapGrowingPercent: file.server.heap_growing_percent,
      maxConnections: file.server.max_connections,
    },
    proxy: {
      timeoutMs: toMs(file.proxy.timeout),
      connectTimeoutMs: toMs(file.proxy.connect_timeout),
      firstTokenTimeoutMs: toMs(file.proxy.first_token_timeout ?? file.proxy.timeout),
      streamIdleTimeoutMs: toMs(file.proxy.stream_idle_timeout),
      maxRetries: file.proxy.max_retries,
      maxRetryWaitMs: toMs(file.proxy.max_retry_wait),
      maxResponseBytes: file.proxy.max_response_bytes,
      maxSseEventBytes: file.proxy.max_sse_event_bytes,
      maxEmbeddingInputs: file.proxy.max_embedding_inputs,
      defaultModel,
      cooldown: { failures: file.proxy.cooldown.failures, durationMs: toMs(file.proxy.cooldown.seconds) },
    },
    connector: { limit: file.connector.limit, limitPerHost: file.connector.limit_per_host },
    reasoning: { keys: file.reasoning.keys.map((key) => ({ id: key.id, keyEnv: key.key_env })) },
    store: {
      path: storePath(file.store.path, source),
      retentionDays: file.store.retention_days,
      redisUrl: file.store.redis_url,
      postgresUrl: file.store.postgres_url,
      failMode: file.store.fail_mode,
    },
    telemetry: {
      enabled: file.telemetry.enabled,
      endpoint: file.telemetry.endpoint,
      serviceName: file.telemetry.service_name,
      sampleRatio: file.telemetry.sample_ratio,
      headers: file.telemetry.headers,
    },
  });
}

/** Every provider named in `providers:` or referenced by `model_config`, preset merged. */
function resolveProviders(file: ConfigFile, issues: ConfigIssue[]): Map<string, ProviderConfig> {
  const names = new Set([...Object.keys(file.providers), ...referencedProviders(file)]);
  const providers = new Map<string, ProviderConfig>();
  for (const name of names) {
    const block = file.providers[name] ?? undefined;
    const provider = resolveProvider(name, block ?? {}, block !== undefined, issues);
    if (provider !== undefined) providers.set(name, provider);
  }
  return providers;
}

function resolveProvider(
  name: string,
  block: ProviderBlock,
  declared: boolean,
  issues: ConfigIssue[],
): ProviderConfig | undefined {
  const presetName = block.preset ?? name;
  const preset = PROVIDER_PRESETS[presetName];
  const path = declared ? `providers.${name}` : `model_config (provider '${name}')`;
  if (block.preset !== undefined && preset === undefined) {
    issues.push({
      path: `${path}.preset`,
      message: `unknown preset '${block.preset}'; known: ${presetList()}`,
    });
    return undefined;
  }
  const type = block.type ?? preset?.type;
  if (type === undefined) {
    issues.push({
      path,
      message: `unknown provider '${name}': give it a type and base_url, or use a preset (${presetList()})`,
    });
    return undefined;
  }
  const baseUrl =
    block.base_url ?? (preset?.type === type ? preset.baseUrl : type === "echo" ? "echo:" : undefined);
  if (baseUrl === undefined) {
    issues.push({ path: `${path}.base_url`, message: "required: no preset supplies it" });
    return undefined;
  }
  if (type !== "echo" && !URL.canParse(baseUrl)) {
    issues.push({ path: `${path}.base_url`, message: `'${baseUrl}' is not a URL` });
    return undefined;
  }
  const quirks: readonly QuirkName[] =
    block.quirks ?? (preset?.type === type ? (preset.quirks as QuirkName[]) : []) ?? [];
  return {
    name,
    type,
    baseUrl: baseUrl.replace(/\/+$/, ""),
    apiKeyEnv: block.api_key_env ?? (preset?.type === type ? preset.apiKeyEnv : undefined),
    apiKey: block.api_key,
    ...accessKeys(block, preset?.type === type ? preset : undefined),
    headers: block.headers ?? {},
    quirks,
    streamOptions: block.stream_options ?? true,
    tokenDelayMs: block.token_delay_ms ?? 0,
    anthropicVersion: block.anthropic_version ?? DEFAULT_ANTHROPIC_VERSION,
    defaultMaxTokens: block.default_max_tokens ?? DEFAULT_MAX_TOKENS,
    maxEmbeddingBatch:
      block.max_embedding_batch ?? (preset?.type === type ? preset.maxEmbeddingBatch : undefined),
  };
}

/**
 * The IAM key pair fields (Qianfan): the block's, else the preset's. They are used only as a pair of set
 * variables (src/providers/registry.ts); otherwise the provider needs its API key.
 */
function accessKeys(
  block: ProviderBlock,
  preset: ProviderPreset | undefined,
): Pick<ProviderConfig, "accessKeyEnv" | "secretKeyEnv" | "iamUrl"> {
  const accessKeyEnv = block.access_key_env ?? preset?.accessKeyEnv;
  const secretKeyEnv = block.secret_key_env ?? preset?.secretKeyEnv;
  if (accessKeyEnv === undefined && secretKeyEnv === undefined) return {};
  const iamUrl = (block.iam_url ?? preset?.iamUrl ?? DEFAULT_IAM_URL).replace(/\/+$/, "");
  return { accessKeyEnv, secretKeyEnv, iamUrl };
}

/** Provider names that model_config points at, in either form. */
function referencedProviders(file: ConfigFile): string[] {
  return Object.values(file.model_config).flatMap((target) =>
    typeof target === "string"
      ? [target]
      : target.map((entry) => (typeof entry === "string" ? entry : entry.provider)),
  );
}

/**
 * model_config says which provider(s) serve a public model; model_routes[provider][model] renames it upstream;
 * fallbacks and context_window_fallbacks name other public models.
 */
function resolveRoutes(
  file: ConfigFile,
  providers: ReadonlyMap<string, ProviderConfig>,
  issues: ConfigIssue[],
): RouteConfig[] {
  for (const provider of Object.keys(file.model_routes)) {
    if (!providers.has(provider) && PROVIDER_PRESETS[provider] === undefined) {
      issues.push({ path: `model_routes.${provider}`, message: `unknown provider '${provider}'` });
    }
  }
  const routes = Object.entries(file.model_config).map(([publicModel, target]) => ({
    publicModel,
    deployments: toDeployments(file, publicModel, target),
    fallbacks: file.fallbacks[publicModel] ?? [],
    contextWindowFallbacks: file.context_window_fallbacks[publicModel] ?? [],
  }));
  checkFallbacks(file, issues);
  return routes;
}

function toDeployments(
  file: ConfigFile,
  publicModel: string,
  target: ConfigFile["model_config"][string],
): DeploymentConfig[] {
  const entries = typeof target === "string" ? [target] : target;
  return entries.map((entry) => {
    const provider = typeof entry === "string" ? entry : entry.provider;
    const explicit = typeof entry === "string" ? undefined : entry.model;
    return {
      provider,
      upstreamModel: explicit ?? file.model_routes[provider]?.[publicModel] ?? publicModel,
      weight: typeof entry === "string" ? 1 : entry.weight,
    };
  });
}

/** Every fallback names a model of model_config, and no model falls back to itself. */
function checkFallbacks(file: ConfigFile, issues: ConfigIssue[]): void {
  for (const section of ["fallbacks", "context_window_fallbacks"] as const) {
    for (const [model, list] of Object.entries(file[section])) {
      if (file.model_config[model] === undefined) {
        issues.push({ path: `${section}.${model}`, message: `'${model}' is not a model in model_config` });
      }
      list.forEach((fallback, index) => {
        if (file.model_config[fallback] === undefined || fallback === model) {
          const why =
            fallback === model ? "a model cannot fall back to itself" : "is not a model in model_config";
          issues.push({ path: `${section}.${model}.${index}`, message: `'${fallback}' ${why}` });
        }
      });
    }
  }
}

/** The store file against the config file's folder (as the users write paths), except the in-memory database. */
function storePath(path: string, source: string): string {
  return path === ":memory:" ? path : resolve(dirname(source), path);
}

function toMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

function presetList(): string {
  return Object.keys(PROVIDER_PRESETS).join(", ");
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (value instanceof Map) for (const entry of value.values()) deepFreeze(entry);
    else for (const entry of Object.values(value)) deepFreeze(entry);
  }
  return value;
}
