/**
 * A runtime is everything built from one config: transport pool, adapters, router and core. Hot reload
 * builds a whole new one and swaps a single reference; requests in flight keep the one they started with.
 */
import type { Config } from "../config/config.ts";
import { createAdapter, type KeySource } from "../providers/registry.ts";
import { type ClosableTransport, createUndiciTransport } from "../providers/transport.ts";
import type { ProviderAdapter, UpstreamTransport } from "../providers/types.ts";
import { createRouter } from "../routing/router.ts";
import { createChatCore } from "./chat-core.ts";
import type { ChatCore } from "./chat-stream.ts";
import { generateId } from "./ids.ts";

/** One generation of the gateway's working parts. */
export interface Runtime {
  readonly config: Config;
  readonly core: ChatCore;
  /** Releases upstream connections once no request uses this runtime any more. */
  close(): Promise<void>;
}

/** Test seams: a fake transport or clock instead of the real ones. */
export interface RuntimeOverrides {
  readonly transport?: UpstreamTransport;
  readonly keys?: KeySource;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** Builds a runtime from a validated config. */
export function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Runtime {
  const ownTransport: ClosableTransport | undefined =
    overrides.transport === undefined
      ? createUndiciTransport({
          connectionsPerOrigin: config.connector.limitPerHost,
          connectTimeoutMs: 10_000,
        })
      : undefined;
  const transport = overrides.transport ?? (ownTransport as ClosableTransport);
  const keys = overrides.keys ?? process.env;
  const adapters = new Map<string, ProviderAdapter>();
  for (const provider of config.providers.values())
    adapters.set(provider.name, createAdapter(provider, keys));
  const core = createChatCore({
    router: createRouter(config),
    adapters,
    models: config.routes.map((route) => ({ id: route.publicModel, ownedBy: route.provider })),
    defaultModel: config.proxy.defaultModel,
    transport,
    timeoutMs: config.proxy.timeoutMs,
    maxRetries: config.proxy.maxRetries,
    now: overrides.now ?? Date.now,
    generateId,
    random: overrides.random ?? Math.random,
  });
  return {
    config,
    core,
    close: async () => {
      await ownTransport?.close();
    },
  };
}

/** Holds the current runtime; `current` is read once per request. */
export interface RuntimeHolder {
  readonly current: Runtime;
  /** Installs a new runtime and retires the old one. */
  swap(next: Runtime): Runtime;
}

/** Creates the holder. */
export function createRuntimeHolder(initial: Runtime): RuntimeHolder {
  let current = initial;
  return {
    get current() {
      return current;
    },
    swap(next: Runtime): Runtime {
      const previous = current;
      current = next;
      return previous;
    },
  };
}
