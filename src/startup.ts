/**
 * What the process entry needs from this module at start: the serving checks in their lenient form, the
 * open-gateway warning, and `--check-config`.
 */
import { rememberAuthTable } from "./auth/auth-table.ts";
import type { AuthTable } from "./auth/keys.ts";
import type { Config } from "./config/config.ts";
import { ConfigError } from "./config/config-error.ts";
import { loadConfig } from "./config/load.ts";
import { planOsEnv } from "./config/os-env.ts";
import { knownSecrets, scrubString } from "./config/redact.ts";
import { checkServing, type ServingCheck } from "./config/serving-checks.ts";
import { rememberSecrets } from "./core/secret-scrubber.ts";
import type { KeySource } from "./providers/registry.ts";

/**
 * Startup checks: a problem with the inbound keys stops the process (ConfigError); a routed provider without its
 * vendor key is only a warning (returned), so files that started before keep starting. Records the auth table.
 */
export function prepareStartup(config: Config, env: KeySource): ServingCheck {
  const check = checkServing(config, env, "warn");
  if (check.errors.length > 0) throw new ConfigError(config.source, check.errors);
  rememberAuthTable(config, check.auth);
  // Every secret of the file (os_env values, keys, secret headers) is cut from error answers and log lines.
  rememberSecrets(knownSecrets(config, env));
  return check;
}

/** The warning for an API open to the network, or undefined when keys are required or the bind is loopback. */
export function openGatewayWarning(config: Config, auth: AuthTable): string | undefined {
  const host = config.server.host;
  if (auth.clientKeysRequired || host === "localhost" || host === "::1" || host.startsWith("127."))
    return undefined;
  return `no client keys are configured (auth.keys) and the gateway listens on ${host}: anyone who can reach this port can use it and spend its vendor keys`;
}

/**
 * The warning for admin routes opened by loopback trust (no admin keys), or undefined when admin keys are set.
 * Requests that a proxy marks as forwarded are refused, but a proxy on this host that adds no such header makes
 * every client look local.
 */
export function adminLoopbackWarning(auth: AuthTable): string | undefined {
  if (auth.adminKeysConfigured) return undefined;
  return "no admin keys are configured (auth.admin_keys): GET /config and POST /config/reload answer any loopback client without a key; requests carrying Forwarded, X-Forwarded-For or X-Real-IP are refused, but behind a reverse proxy on this host that sets none of them every client is loopback: set auth.admin_keys";
}

/**
 * `--check-config`: the checks a reload applies, without serving. Returns the exit code and the one text to print
 * (a one-line summary, or every problem by YAML path).
 */
export async function checkConfigFile(path: string, env: KeySource): Promise<{ ok: boolean; text: string }> {
  let config: Config;
  try {
    config = await loadConfig(path);
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, text: error.message };
    throw error;
  }
  const plan = planOsEnv(config.file.os_env, env, new Set());
  const check = checkServing(config, plan.env, "refuse");
  if (check.errors.length > 0) {
    const secrets = knownSecrets(config, plan.env);
    return { ok: false, text: scrubString(new ConfigError(path, check.errors).message, secrets) };
  }
  const counts = [
    `${config.routes.length} models`,
    `${config.providers.size} providers`,
    `${check.auth.clients.size} client keys`,
    `${check.auth.admins.size} admin keys`,
  ];
  const warnings = check.warnings.map((warning) => `\n  warning: ${warning.path}: ${warning.message}`);
  return { ok: true, text: `${path}: OK (${counts.join(", ")})${warnings.join("")}` };
}
