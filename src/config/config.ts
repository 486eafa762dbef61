/**
 * The resolved, frozen configuration the runtime is built from: presets merged, routes flattened, units
 * converted. Produced only by loadConfig (src/config/load.ts).
 */
import type { ProviderType } from "../providers/types.ts";
import type { ReasoningKeyConfig } from "./reasoning-keys.ts";
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
  /** Qianfan: variables of an IAM key pair that mints bearer tokens when no API key is set. */
  readonly accessKeyEnv?: string;
  readonly secretKeyEnv?: string;
  /** Qianfan: the IAM endpoint that mints them, without a trailing slash. */
  readonly iamUrl?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly quirks: readonly QuirkName[];
  /** Whether to send stream_options upstream (some vendors reject it). */
  readonly streamOptions: boolean;
  readonly tokenDelayMs: number;
  readonly anthropicVersion: string;
  readonly defaultMaxTokens: number;
  /** Most inputs the vendor embeds per call (undefined: no cap of ours). */
  readonly maxEmbeddingBatch?: number;
}

/** One place a public model can be served: a provider, the model id there, and its share of traffic. */
export interface DeploymentConfig {
  readonly provider: string;
  readonly upstreamModel: string;
  readonly weight: number;
}

/** A public model name, where it goes, and what to try when that fails. */
export interface RouteConfig {
  readonly publicModel: string;
  /** Load-balanced by weight; the users' one-provider form gives exactly one. */
  readonly deployments: readonly DeploymentConfig[];
  /** Public models to try, in order, when every deployment failed with a fallback-worthy error. */
  readonly fallbacks: readonly string[];
  /** Public models to try when the request is too long for this model's context window. */
  readonly contextWindowFallbacks: readonly string[];
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
    /** Slow-client guards: time to send the headers, and the whole request (not the response). */
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    /** Reload when the file changes on disk. */
    readonly watchConfig: boolean;
    /** On SIGTERM/SIGINT, how long in-flight requests and streams may run before they are ended. */
    readonly drainTimeoutMs: number;
    /** Log to this file instead of stdout. */
    readonly logFile: string | undefined;
    /** V8's heap growing factor over the live heap, in percent; 0 leaves V8's own. */
    readonly heapGrowingPercent: number;
    /** Open client connections this process accepts; more are closed as they arrive. */
    readonly maxConnections: number;
  };
  readonly proxy: {
    /** Total budget of one request. */
    readonly timeoutMs: number;
    readonly connectTimeoutMs: number;
    /** Per attempt: how long to wait for the first chunk. */
    readonly firstTokenTimeoutMs: number;
    /** Longest silence between chunks of a started stream. */
    readonly streamIdleTimeoutMs: number;
    readonly maxRetries: number;
    /** Longest retry-after honoured by waiting; longer ones move on instead. */
    readonly maxRetryWaitMs: number;
    /** Largest upstream body read whole (non-streaming answers, error bodies). */
    readonly maxResponseBytes: number;
    /** Largest single event of an upstream SSE stream. */
    readonly maxSseEventBytes: number;
    /** Most inputs one embeddings request may hold. */
    readonly maxEmbeddingInputs: number;
    readonly defaultModel: string | undefined;
    readonly cooldown: { readonly failures: number; readonly durationMs: number };
  };
  readonly connector: { readonly limit: number; readonly limitPerHost: number };
  /** Keys sealing reasoning state (first seals, all open); none: a random key per process. */
  readonly reasoning: { readonly keys: readonly ReasoningKeyConfig[] };
  /** The governance store (src/governance/). */
  readonly store: {
    /** The SQLite file, resolved against the config file's folder, or `:memory:`. */
    readonly path: string;
    readonly retentionDays: number | undefined;
    readonly redisUrl: string | undefined;
    readonly postgresUrl: string | undefined;
    readonly failMode: ConfigFile["store"]["fail_mode"];
  };
  /** Tracing as configured; OTEL_* variables are merged in by src/telemetry/tracing-settings.ts. */
  readonly telemetry: {
    readonly enabled: boolean | undefined;
    readonly endpoint: string | undefined;
    readonly serviceName: string | undefined;
    readonly sampleRatio: number | undefined;
    readonly headers: Readonly<Record<string, string>> | undefined;
  };
}
