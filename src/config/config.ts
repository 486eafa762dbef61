/**
 * The resolved, frozen configuration the runtime is built from: presets merged, routes flattened, units
 * converted. Produced only by loadConfig (src/config/load.ts).
 */
import type { ProviderType } from "../providers/types.ts";
import type { ConfigFile, QUIRK_NAMES } from "./schema.ts";

/** A quirk hook name. */
export type QuirkName = (typeof QUIRK_NAMES)[number];

/** One provider, preset merged with its config block. */
export interface ProviderConfig {
  readonly name: string;
  readonly type: ProviderType;
  /** Up to and including the API version segment, without a trailing slash. */
  readonly baseUrl: string;
  readonly apiKeyEnv: string | undefined;
  /** A literal key from the file (discouraged; prefer api_key_env or os_env). */
  readonly apiKey: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly quirks: readonly QuirkName[];
  /** Whether to send stream_options upstream (some vendors reject it). */
  readonly streamOptions: boolean;
  readonly tokenDelayMs: number;
  readonly anthropicVersion: string;
  readonly defaultMaxTokens: number;
}

/** A public model name and where it goes. */
export interface RouteConfig {
  readonly publicModel: string;
  readonly provider: string;
  readonly upstreamModel: string;
}

/** The effective configuration. */
export interface Config {
  /** The file it came from. */
  readonly source: string;
  /** The validated file, kept for GET /config (redacted there). */
  readonly file: ConfigFile;
  readonly providers: ReadonlyMap<string, ProviderConfig>;
  readonly routes: readonly RouteConfig[];
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly logLevel: ConfigFile["server"]["log_level"];
    readonly workers: number;
    readonly bodyLimit: number;
    readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  };
  readonly proxy: {
    readonly timeoutMs: number;
    readonly maxRetries: number;
    readonly defaultModel: string | undefined;
  };
  readonly connector: { readonly limit: number; readonly limitPerHost: number };
}
