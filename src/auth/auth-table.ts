/**
 * The auth table of each loaded config, built once: the reloader builds it (with the environment the new config
 * brings) before the swap, and the request hook looks it up by the config of the runtime the request leased, so
 * keys change atomically with routes on reload.
 */
import type { Config } from "../config/config.ts";
import type { KeySource } from "../providers/registry.ts";
import { type AuthTable, OPEN_AUTH_TABLE, resolveAuth } from "./keys.ts";

const tables = new WeakMap<Config, AuthTable>();

/** Records the table built for `config` (by startup or reload). */
export function rememberAuthTable(config: Config, table: AuthTable): void {
  tables.set(config, table);
}

/** The table of `config`; built on first use from `env` when nobody recorded one (tests, embedders). */
export function authTableOf(config: Config, env: KeySource = process.env): AuthTable {
  const known = tables.get(config);
  if (known !== undefined) return known;
  const auth = config.file.auth;
  const table =
    auth === undefined || (auth.keys.length === 0 && auth.admin_keys.length === 0)
      ? OPEN_AUTH_TABLE
      : resolveAuth(auth, env).table;
  tables.set(config, table);
  return table;
}
