/**
 * Inbound keys, resolved once per (re)load. A key is kept only as its SHA-256 digest, in a Map from the hex
 * digest to who it belongs to, so checking a presented key costs one hash, one lookup and one constant-time
 * compare of two digests; the plain key is never stored, logged or compared byte by byte.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { ConfigIssue } from "../config/config-error.ts";
import type { ConfigFile } from "../config/schema.ts";
import type { KeyLimits } from "../governance/limits.ts";
import type { KeySource } from "../providers/registry.ts";

/** Who a key belongs to. */
export interface Principal {
  /** Stable id: `file:<name>` for a key from the config file, the store's id for a virtual key. */
  readonly id: string;
  readonly name: string;
  readonly role: "client" | "admin";
  /** Which public models it may use; undefined: all of them. */
  readonly models: ModelAccess | undefined;
  /** Its limits (src/governance/limits.ts); undefined: none. */
  readonly limits: KeyLimits | undefined;
}

/** A per-key model allow list: exact names, plus prefixes written with a trailing `*`. */
export interface ModelAccess {
  readonly allows: (model: string) => boolean;
}

/** A key as a table holds it: its digest and whose it is. */
export interface KeyEntry {
  readonly digest: Buffer;
  readonly principal: Principal;
}

/** The keys of one configuration generation. */
export interface AuthTable {
  /** Client keys are configured: API calls must present one. */
  readonly clientKeysRequired: boolean;
  /** Admin keys are configured: /config and /config/reload need one (else loopback clients only). */
  readonly adminKeysConfigured: boolean;
  readonly clients: ReadonlyMap<string, KeyEntry>;
  readonly admins: ReadonlyMap<string, KeyEntry>;
}

/** The table for a config with no `auth` section: everything open, nothing to look up. */
export const OPEN_AUTH_TABLE: AuthTable = {
  clientKeysRequired: false,
  adminKeysConfigured: false,
  clients: new Map(),
  admins: new Map(),
};

type KeyBlock = ConfigFile["auth"]["keys"][number] | ConfigFile["auth"]["admin_keys"][number];

/** Builds the table. `env` resolves `key_env`; problems are returned with their YAML paths. */
export function resolveAuth(
  auth: ConfigFile["auth"],
  env: KeySource,
): { table: AuthTable; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const clients = collect(auth.keys, "auth.keys", "client", env, issues);
  const admins = collect(auth.admin_keys, "auth.admin_keys", "admin", env, issues);
  const table: AuthTable = {
    clientKeysRequired: auth.keys.length > 0,
    adminKeysConfigured: auth.admin_keys.length > 0,
    clients,
    admins,
  };
  return { table, issues };
}

function collect(
  blocks: readonly KeyBlock[],
  path: string,
  role: Principal["role"],
  env: KeySource,
  issues: ConfigIssue[],
): Map<string, KeyEntry> {
  const entries = new Map<string, KeyEntry>();
  blocks.forEach((block, index) => {
    const digest = digestOf(block, env);
    if (digest === undefined) {
      issues.push({
        path: `${path}.${index}.key_env`,
        message: `variable ${block.key_env} is not set (environment or os_env)`,
      });
      return;
    }
    const hex = digest.toString("hex");
    if (entries.has(hex)) {
      issues.push({
        path: `${path}.${index}`,
        message: `the same key as '${entries.get(hex)?.principal.name}'`,
      });
      return;
    }
    const models = "models" in block && block.models !== undefined ? modelAccess(block.models) : undefined;
    const limits = "limits" in block ? block.limits : undefined;
    entries.set(hex, {
      digest,
      principal: { id: `file:${block.name}`, name: block.name, role, models, limits },
    });
  });
  return entries;
}

function digestOf(block: KeyBlock, env: KeySource): Buffer | undefined {
  if (block.key_sha256 !== undefined) return Buffer.from(block.key_sha256, "hex");
  const key = block.key ?? (block.key_env === undefined ? undefined : env[block.key_env]);
  return key === undefined || key === "" ? undefined : sha256(key);
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** The principal of a presented key, or undefined. One hash, one Map lookup, one constant-time compare. */
export function lookupKey(entries: ReadonlyMap<string, KeyEntry>, presented: string): Principal | undefined {
  const digest = sha256(presented);
  const entry = entries.get(digest.toString("hex"));
  return entry !== undefined && timingSafeEqual(entry.digest, digest) ? entry.principal : undefined;
}

/** Compiles an allow list. */
export function modelAccess(patterns: readonly string[]): ModelAccess {
  const exact = new Set(patterns.filter((pattern) => !pattern.endsWith("*")));
  const prefixes = patterns.filter((pattern) => pattern.endsWith("*")).map((pattern) => pattern.slice(0, -1));
  return {
    allows: (model) => exact.has(model) || prefixes.some((prefix) => model.startsWith(prefix)),
  };
}
