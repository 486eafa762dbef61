/**
 * The `reasoning:` section: keys that seal the reasoning state clients carry between the turns of a tool loop
 * (src/core/reasoning-seal.ts). Each key's secret is read from an environment variable, never from the file.
 */
import { z } from "zod";
import type { ReasoningKey } from "../core/reasoning-seal.ts";
import type { KeySource } from "../providers/registry.ts";
import type { ConfigIssue } from "./config-error.ts";

/** Shortest secret accepted: 32 characters (e.g. `openssl rand -base64 32` gives 44). */
export const MIN_REASONING_SECRET_CHARS = 32;

/** `reasoning: {keys: [{id, key_env}]}`: the first key seals, every one opens (rotation keeps the old one). */
export const reasoningSchema = z.strictObject({
  keys: z
    .array(
      z.strictObject({
        /** Written into each carrier, so a rotated-out key is recognised: 1-16 letters or digits. */
        id: z.string().regex(/^[A-Za-z0-9]{1,16}$/, "1-16 letters or digits"),
        /** The environment variable that holds the secret. */
        key_env: z.string().min(1),
      }),
    )
    .default([])
    .refine((keys) => new Set(keys.map((key) => key.id)).size === keys.length, "key ids must be unique"),
});

/** Logged at start when no key is configured. */
export const EPHEMERAL_REASONING_KEY_NOTE =
  "reasoning.keys is not set: reasoning state returned to clients is sealed with a random key made at start, so " +
  "tool loops with thinking lose it (and continue without it) after a restart or on another replica";

/** A configured key before its secret is read. */
export interface ReasoningKeyConfig {
  readonly id: string;
  readonly keyEnv: string;
}

/** The keys whose variable holds a long enough secret, in config order. */
export function resolveReasoningKeys(keys: readonly ReasoningKeyConfig[], env: KeySource): ReasoningKey[] {
  return keys.flatMap((key) => {
    const secret = env[key.keyEnv];
    return secret !== undefined && secret.length >= MIN_REASONING_SECRET_CHARS
      ? [{ id: key.id, secret }]
      : [];
  });
}

/** A key whose variable is unset or too short: the config cannot serve (carriers would not open as intended). */
export function reasoningKeyIssues(keys: readonly ReasoningKeyConfig[], env: KeySource): ConfigIssue[] {
  return keys.flatMap((key, index) => {
    const secret = env[key.keyEnv];
    if (secret !== undefined && secret.length >= MIN_REASONING_SECRET_CHARS) return [];
    const problem = secret === undefined || secret === "" ? "is not set" : "is shorter than 32 characters";
    return [{ path: `reasoning.keys.${index}.key_env`, message: `${key.keyEnv} ${problem}` }];
  });
}
