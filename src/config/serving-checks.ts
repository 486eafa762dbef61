/**
 * Checks a loaded config must pass before it serves, beyond the schema: the inbound keys (a key_env that is
 * unset, a key listed twice, an allow list naming a model that does not exist), prices naming a model that does
 * not exist (models without a price are warnings, src/governance/prices.ts), and the vendor keys of the
 * providers model_config actually routes to. Startup only warns about a missing vendor key, so existing files
 * keep starting (those models answer `configuration` errors); a reload and --check-config refuse it, so a reload
 * cannot break models that work.
 */

import { type AuthTable, resolveAuth } from "../auth/keys.ts";
import { priceIssues, unpricedModels, unpricedWarning } from "../governance/prices.ts";
import { type KeySource, resolveAccessKeys, resolveApiKey } from "../providers/registry.ts";
import type { Config, ProviderConfig } from "./config.ts";
import type { ConfigIssue } from "./config-error.ts";
import { reasoningKeyIssues } from "./reasoning-keys.ts";

/** How strict to be about vendor keys. */
export type KeyPolicy = "warn" | "refuse";

/** The outcome: the auth table to serve with, and the problems found. */
export interface ServingCheck {
  readonly auth: AuthTable;
  /** Problems that make the config unusable. */
  readonly errors: readonly ConfigIssue[];
  /** Problems worth a log line. */
  readonly warnings: readonly ConfigIssue[];
}

/** Runs every check against the environment the config would run with (os_env applied). */
export function checkServing(config: Config, env: KeySource, keyPolicy: KeyPolicy): ServingCheck {
  const { table, issues } = resolveAuth(config.file.auth, env);
  const errors = [...issues, ...allowListIssues(config), ...priceIssues(config)];
  const missingKeys = missingVendorKeys(config, env);
  // A model without a price is served (its cost is unknown), so it is only ever a warning.
  const unpriced = unpricedModels(config).map((model) => ({
    path: "prices",
    message: unpricedWarning(model),
  }));
  // A sealing key that is unset would silently fall back to nothing: always an error.
  const reasoningIssues = reasoningKeyIssues(config.reasoning.keys, env);
  return {
    auth: table,
    errors:
      keyPolicy === "refuse"
        ? [...errors, ...reasoningIssues, ...missingKeys]
        : [...errors, ...reasoningIssues],
    warnings: keyPolicy === "refuse" ? unpriced : [...missingKeys, ...unpriced],
  };
}

/**
 * A reload must not turn inbound authentication off by accident: a file cut short before its `auth:` section, or
 * emptied by a failed copy, has no keys. Dropping every client key, or every admin key, therefore needs
 * `auth: {open: true}` in the new file.
 */
export function authDowngradeIssues(before: AuthTable, after: AuthTable, config: Config): ConfigIssue[] {
  if (config.file.auth.open === true) return [];
  const issues: ConfigIssue[] = [];
  const hint = "if that is meant, say so with `auth: {open: true}`";
  if (before.clientKeysRequired && !after.clientKeysRequired) {
    issues.push({
      path: "auth.keys",
      message: `the running config requires client keys and this file has none, so every model would be served without a key (is the file cut short?); ${hint}`,
    });
  }
  if (before.adminKeysConfigured && !after.adminKeysConfigured) {
    issues.push({
      path: "auth.admin_keys",
      message: `the running config requires admin keys and this file has none, so the admin routes would answer any loopback client (is the file cut short?); ${hint}`,
    });
  }
  return issues;
}

/** Every name in an allow list must be a public model, `provider/model` of a known provider, or a `prefix*`. */
function allowListIssues(config: Config): ConfigIssue[] {
  const models = new Set(config.routes.map((route) => route.publicModel));
  const issues: ConfigIssue[] = [];
  config.file.auth.keys.forEach((entry, index) => {
    entry.models?.forEach((model, position) => {
      const slash = model.indexOf("/");
      const known =
        model.endsWith("*") ||
        models.has(model) ||
        (slash > 0 && slash < model.length - 1 && config.providers.has(model.slice(0, slash)));
      if (!known) {
        issues.push({
          path: `auth.keys.${index}.models.${position}`,
          message: `'${model}' is not a model in model_config (nor provider/model of a known provider)`,
        });
      }
    });
  });
  return issues;
}

/** Providers that model_config routes to whose key variable is unset. */
function missingVendorKeys(config: Config, env: KeySource): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const reported = new Set<string>();
  for (const route of config.routes) {
    for (const deployment of route.deployments) {
      const provider = config.providers.get(deployment.provider);
      if (provider === undefined || provider.type === "echo" || reported.has(provider.name)) continue;
      if (provider.apiKeyEnv === undefined || resolveApiKey(provider, env) !== undefined) continue;
      if (resolveAccessKeys(provider, env) !== undefined) continue;
      reported.add(provider.name);
      const declared = config.file.providers[provider.name] !== undefined;
      issues.push({
        path: declared ? `providers.${provider.name}.api_key_env` : `model_config.${route.publicModel}`,
        message: `provider '${provider.name}' has no API key: ${provider.apiKeyEnv} is not set${pairNote(provider)} (environment or os_env)`,
      });
    }
  }
  return issues;
}

/** For providers that also take an IAM key pair (Qianfan): that neither is it. */
function pairNote(provider: ProviderConfig): string {
  if (provider.accessKeyEnv === undefined || provider.secretKeyEnv === undefined) return "";
  return `, nor both of ${provider.accessKeyEnv} and ${provider.secretKeyEnv}`;
}
