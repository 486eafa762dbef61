/**
 * os_env across reloads. At startup os_env is exported unless the environment already has the variable
 * (src/config/env.ts). On reload the same rule holds for variables set outside the gateway: they always win. A
 * variable the gateway exported itself follows the file: a changed value replaces it (so a key can be rotated by
 * editing the file), and one removed from os_env is removed from the environment. The new environment is first
 * computed aside, so an invalid file changes nothing.
 */

import type { KeySource } from "../providers/registry.ts";
import type { ConfigFile } from "./schema.ts";

/** What applying a file's os_env would do. */
export interface OsEnvPlan {
  /** The environment the new config would see. */
  readonly env: KeySource;
  readonly set: ReadonlyMap<string, string>;
  readonly unset: readonly string[];
}

/** Computes the plan; `owned` are the variables the gateway exported earlier. */
export function planOsEnv(
  osEnv: ConfigFile["os_env"],
  current: KeySource,
  owned: ReadonlySet<string>,
): OsEnvPlan {
  const set = new Map<string, string>();
  for (const [name, raw] of Object.entries(osEnv)) {
    const value = String(raw);
    const outside = current[name] !== undefined && current[name] !== "" && !owned.has(name);
    if (!outside && current[name] !== value) set.set(name, value);
  }
  const unset = [...owned].filter((name) => !(name in osEnv));
  const env: Record<string, string | undefined> = { ...current };
  for (const [name, value] of set) env[name] = value;
  for (const name of unset) delete env[name];
  return { env, set, unset };
}

/** Applies a plan to the real environment and the record of owned variables. */
export function applyOsEnv(plan: OsEnvPlan, target: NodeJS.ProcessEnv, owned: Set<string>): void {
  for (const [name, value] of plan.set) {
    target[name] = value;
    owned.add(name);
  }
  for (const name of plan.unset) {
    delete target[name];
    owned.delete(name);
  }
}
