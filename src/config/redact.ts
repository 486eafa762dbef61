/**
 * Secret redaction for anything the gateway shows about its configuration (GET /config, reload outcomes). Two
 * nets, so a secret in an unexpected place is still caught:
 * - by name: a field whose name has a secret word (key, token, secret, password, auth, cookie, ...) has its value
 *   replaced, unless the name ends in a word that makes it a reference rather than a secret (`api_key_env`,
 *   `key_file`, `token_delay_ms`);
 * - by value: every known secret (os_env values, literal and resolved vendor keys, inbound keys) is cut out of
 *   every string, and URL passwords and secret-named query parameters are masked.
 */

import { REDACTED, SecretScrubber } from "../core/secret-scrubber.ts";
import type { KeySource } from "../providers/registry.ts";
import { resolveAccessKeys, resolveApiKey } from "../providers/registry.ts";
import type { Config } from "./config.ts";
import { resolveReasoningKeys } from "./reasoning-keys.ts";

/** What a redacted value is replaced with. */
export { REDACTED };

const SECRET_WORDS: ReadonlySet<string> = new Set([
  "key",
  "apikey",
  "token",
  "secret",
  "password",
  "passwd",
  "pwd",
  "auth",
  "authorization",
  "cookie",
  "credential",
  "credentials",
  "signature",
  "sha256",
]);
/** A last word that makes the field a reference to a secret, not the secret. */
const REFERENCE_WORDS: ReadonlySet<string> = new Set(["env", "file", "path", "ms", "name", "names"]);
/** Shorter values are not scrubbed by value: "1" or "true" in os_env would wreck every string. */
const MIN_SCRUBBED_LENGTH = 8;

/** Whether a field or header of this name holds a secret (`api_key`, `X-Api-Key`, `apiKey`: yes; `api_key_env`: no). */
export function isSecretName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== "");
  const last = words.at(-1);
  if (last === undefined || REFERENCE_WORDS.has(last)) return false;
  return words.some((word) => SECRET_WORDS.has(word));
}

/** Every secret value a config gives the process (for scrubbing by value), longest first. */
export function knownSecrets(config: Config, env: KeySource): string[] {
  const secrets = new Set<string>();
  for (const value of Object.values(config.file.os_env)) secrets.add(String(value));
  for (const provider of config.providers.values()) {
    const key = resolveApiKey(provider, env);
    if (key !== undefined) secrets.add(key);
    const pair = resolveAccessKeys(provider, env);
    if (pair !== undefined) secrets.add(pair.accessKeyId).add(pair.secretAccessKey);
    for (const [name, value] of Object.entries(provider.headers)) if (isSecretName(name)) secrets.add(value);
  }
  const auth = config.file.auth;
  for (const entry of [...(auth?.keys ?? []), ...(auth?.admin_keys ?? [])]) {
    if (entry.key !== undefined) secrets.add(entry.key);
    const fromEnv = entry.key_env === undefined ? undefined : env[entry.key_env];
    if (fromEnv !== undefined) secrets.add(fromEnv);
    if (entry.key_sha256 !== undefined) secrets.add(entry.key_sha256);
  }
  for (const key of resolveReasoningKeys(config.reasoning.keys, env)) secrets.add(key.secret);
  return [...secrets]
    .filter((secret) => secret.length >= MIN_SCRUBBED_LENGTH)
    .sort((a, b) => b.length - a.length);
}

/** One scrubber per secrets list: redactValue scrubs every string of a config view with the same list. */
const scrubbers = new WeakMap<readonly string[], SecretScrubber>();

/**
 * Cuts known secrets (verbatim, encoded or masked: src/core/secret-scrubber.ts), URL passwords and secret query
 * parameters out of a string.
 */
export function scrubString(text: string, secrets: readonly string[]): string {
  let scrubber = scrubbers.get(secrets);
  if (scrubber === undefined) {
    scrubber = new SecretScrubber(secrets);
    scrubbers.set(secrets, scrubber);
  }
  return scrubUrl(scrubber.scrub(text));
}

function scrubUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text) || !URL.canParse(text)) return text;
  const url = new URL(text);
  let changed = false;
  if (url.password !== "") {
    url.password = "redacted";
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (isSecretName(name)) {
      url.searchParams.set(name, "redacted");
      changed = true;
    }
  }
  return changed ? url.toString() : text;
}

/** A deep copy of plain JSON-like data (Maps become objects) with secrets redacted by name and by value. */
export function redactValue(value: unknown, secrets: readonly string[], name = ""): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === "string")
    return name !== "" && isSecretName(name) ? REDACTED : scrubString(value, secrets);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return name !== "" && isSecretName(name) ? REDACTED : value;
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets, name));
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  const copy: Record<string, unknown> = {};
  for (const [key, item] of entries) copy[String(key)] = redactValue(item, secrets, String(key));
  return copy;
}
