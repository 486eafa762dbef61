/**
 * Builds one adapter per configured provider. The only place that lists the provider types.
 */
import type { ProviderConfig } from "../config/config.ts";
import { ProxyError } from "../core/errors.ts";
import { rememberSecrets } from "../core/secret-scrubber.ts";
import { createAnthropicAdapter } from "./anthropic/adapter.ts";
import { createEchoAdapter } from "./echo/adapter.ts";
import { createGeminiAdapter } from "./gemini/adapter.ts";
import { createOpenAICompatibleAdapter } from "./openai-compatible/adapter.ts";
import type { BceCredentials } from "./qianfan/bce-auth.ts";
import { createIamBearerSource } from "./qianfan/iam-token.ts";
import type { ProviderAdapter, StreamLimits } from "./types.ts";

/** Where API keys come from: the process environment (with os_env already exported into it). */
export type KeySource = Readonly<Record<string, string | undefined>>;

/** The key of a provider: a literal `api_key`, else the variable named by `api_key_env`. */
export function resolveApiKey(config: ProviderConfig, keys: KeySource): string | undefined {
  if (config.apiKey !== undefined) return config.apiKey;
  if (config.apiKeyEnv === undefined) return undefined;
  const value = keys[config.apiKeyEnv];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The IAM key pair of a provider that mints bearer tokens from one (Qianfan), when both of its variables are set.
 * An API key, when one is set, is used instead.
 */
export function resolveAccessKeys(config: ProviderConfig, keys: KeySource): BceCredentials | undefined {
  if (config.accessKeyEnv === undefined || config.secretKeyEnv === undefined) return undefined;
  const accessKeyId = keys[config.accessKeyEnv];
  const secretAccessKey = keys[config.secretKeyEnv];
  if (
    accessKeyId === undefined ||
    accessKeyId === "" ||
    secretAccessKey === undefined ||
    secretAccessKey === ""
  )
    return undefined;
  return { accessKeyId, secretAccessKey };
}

/** Creates the adapter for one provider. */
export function createAdapter(
  config: ProviderConfig,
  keys: KeySource,
  limits: StreamLimits,
): ProviderAdapter {
  if (config.type === "echo") return createEchoAdapter(config);
  const apiKey = resolveApiKey(config, keys);
  const accessKeys = apiKey === undefined ? resolveAccessKeys(config, keys) : undefined;
  if (config.type === "openai" && accessKeys !== undefined) {
    const bearer = createIamBearerSource(accessKeys, config.iamUrl ?? "");
    return createOpenAICompatibleAdapter(config, undefined, limits, bearer);
  }
  if (apiKey === undefined && config.apiKeyEnv !== undefined) return createUnconfiguredAdapter(config);
  // Whatever an error answer or log line carries, the process now cuts this key out of it.
  rememberSecrets([apiKey]);
  switch (config.type) {
    case "openai":
      return createOpenAICompatibleAdapter(config, apiKey, limits);
    case "anthropic":
      return createAnthropicAdapter(config, apiKey, limits);
    case "gemini":
      return createGeminiAdapter(config, apiKey, limits);
  }
}

/** A provider whose key variable is unset answers every call with a clear configuration error. */
function createUnconfiguredAdapter(config: ProviderConfig): ProviderAdapter {
  const message = `Provider '${config.name}' has no API key: set ${keyVariables(config)} (environment or os_env).`;
  return {
    name: config.name,
    type: config.type,
    // biome-ignore lint/correctness/useYield: fails before its first chunk by design.
    stream: async function* () {
      throw new ProxyError("configuration", message);
    },
    // Anthropic has no embeddings API: the core refuses those requests before any attempt, key or no key.
    ...(config.type === "anthropic"
      ? {}
      : {
          embed: async () => {
            throw new ProxyError("configuration", message);
          },
        }),
  };
}

/** The variables that would give a provider its credentials, for messages. */
export function keyVariables(config: ProviderConfig): string {
  const pair =
    config.accessKeyEnv === undefined || config.secretKeyEnv === undefined
      ? ""
      : `, or ${config.accessKeyEnv} and ${config.secretKeyEnv}`;
  return `${config.apiKeyEnv}${pair}`;
}
