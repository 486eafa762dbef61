/** os_env: variables the users' files set for their keys, exported unless the environment already has them. */
import type { ConfigFile } from "./schema.ts";

/** Exports os_env into `env`; returns the names it set. Values already in the environment win. */
export function exportOsEnv(file: ConfigFile, env: NodeJS.ProcessEnv): string[] {
  const exported: string[] = [];
  for (const [name, value] of Object.entries(file.os_env)) {
    if (env[name] !== undefined && env[name] !== "") continue;
    env[name] = String(value);
    exported.push(name);
  }
  return exported;
}
