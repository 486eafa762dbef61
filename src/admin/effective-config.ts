/**
 * GET /config: the configuration the gateway is serving, shaped like the YAML file (every section, defaults
 * filled in, command-line overrides applied, providers with their presets merged), with every secret redacted
 * and, instead of values, whether each variable the config relies on is set.
 */
import type { Config, ProviderConfig } from "../config/config.ts";
import { knownSecrets, REDACTED, redactValue } from "../config/redact.ts";
import type { KeySource } from "../providers/registry.ts";

/** Facts about the running config that are not in the file. */
export interface ConfigMeta {
  /** When this configuration started serving (ISO 8601). */
  readonly loadedAt: string;
  /** Successful reloads since start. */
  readonly reloads: number;
  readonly watching: boolean;
}

/** The redacted view. `env` is the process environment (os_env exported into it). */
export function effectiveConfig(config: Config, env: KeySource, meta: ConfigMeta): Record<string, unknown> {
  const secrets = knownSecrets(config, env);
  const file = config.file;
  const view = {
    ...file,
    os_env: Object.fromEntries(Object.keys(file.os_env).map((name) => [name, REDACTED])),
    server: {
      ...file.server,
      host: config.server.host,
      port: config.server.port,
      log_level: config.server.logLevel,
    },
    providers: Object.fromEntries(
      [...config.providers.values()].map((provider) => [provider.name, providerView(provider)]),
    ),
  };
  return {
    source: config.source,
    loaded_at: meta.loadedAt,
    reloads: meta.reloads,
    watching: meta.watching,
    environment: variableStatus(config, env),
    config: redactValue(view, secrets),
  };
}

/** A resolved provider with snake_case field names, like its YAML block. */
function providerView(provider: ProviderConfig): Record<string, unknown> {
  const { name: _name, ...fields } = provider;
  const view: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(fields)) {
    if (value !== undefined) view[field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)] = value;
  }
  return view;
}

/**
 * "set" or "unset" for every variable named by os_env, a provider's api_key_env (or access_key_env and
 * secret_key_env) or an inbound key_env.
 */
function variableStatus(config: Config, env: KeySource): Record<string, "set" | "unset"> {
  const names = new Set(Object.keys(config.file.os_env));
  for (const provider of config.providers.values()) {
    if (provider.apiKey === undefined && provider.apiKeyEnv !== undefined) names.add(provider.apiKeyEnv);
    for (const name of [provider.accessKeyEnv, provider.secretKeyEnv])
      if (name !== undefined) names.add(name);
  }
  const auth = config.file.auth;
  for (const entry of [...(auth?.keys ?? []), ...(auth?.admin_keys ?? [])]) {
    if (entry.key_env !== undefined) names.add(entry.key_env);
  }
  return Object.fromEntries(
    [...names].sort().map((name) => [name, env[name] !== undefined && env[name] !== "" ? "set" : "unset"]),
  );
}
