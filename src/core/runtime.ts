/**
 * A runtime is everything built from one config: transport pool, adapters, router and core. Hot reload
 * builds a whole new one and swaps a single reference; requests in flight keep the one they started with.
 */
import type { Config } from "../config/config.ts";
import { resolveReasoningKeys } from "../config/reasoning-keys.ts";
import { createAdapter, type KeySource } from "../providers/registry.ts";
import { type ClosableTransport, createUndiciTransport } from "../providers/transport.ts";
import type { ProviderAdapter, UpstreamTransport } from "../providers/types.ts";
import type { HealthDecorator } from "../routing/deployment-health.ts";
import { createRouter } from "../routing/router.ts";
import { createChatCore } from "./chat-core.ts";
import type { ChatCore } from "./chat-stream.ts";
import { generateId } from "./ids.ts";
import { createReasoningSeal, type ReasoningSeal } from "./reasoning-seal.ts";

/** One generation of the gateway's working parts. */
export interface Runtime {
  readonly config: Config;
  readonly core: ChatCore;
  /** Seals and opens the reasoning state clients carry between the turns of a tool loop. */
  readonly reasoningSeal: ReasoningSeal;
  /** Releases upstream connections once no request uses this runtime any more. */
  close(): Promise<void>;
}

/** Test seams: a fake transport or clock instead of the real ones. */
export interface RuntimeOverrides {
  readonly transport?: UpstreamTransport;
  readonly keys?: KeySource;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Wraps each runtime's deployment health (shared cooldowns when several replicas use Redis). */
  readonly decorateHealth?: HealthDecorator;
}

/** Builds a runtime from a validated config. */
export function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Runtime {
  const ownTransport: ClosableTransport | undefined =
    overrides.transport === undefined
      ? createUndiciTransport({
          connectionsPerOrigin: config.connector.limitPerHost,
          connectTimeoutMs: config.proxy.connectTimeoutMs,
          maxResponseBytes: config.proxy.maxResponseBytes,
        })
      : undefined;
  const transport = overrides.transport ?? (ownTransport as ClosableTransport);
  const keys = overrides.keys ?? process.env;
  const adapters = new Map<string, ProviderAdapter>();
  const limits = { maxSseEventBytes: config.proxy.maxSseEventBytes };
  for (const provider of config.providers.values())
    adapters.set(provider.name, createAdapter(provider, keys, limits));
  const core = createChatCore({
    router: createRouter(config),
    adapters,
    models: config.routes.map((route) => ({
      id: route.publicModel,
      ownedBy: route.deployments.map((deployment) => deployment.provider).join(","),
    })),
    defaultModel: config.proxy.defaultModel,
    transport,
    timeoutMs: config.proxy.timeoutMs,
    firstTokenTimeoutMs: config.proxy.firstTokenTimeoutMs,
    streamIdleTimeoutMs: config.proxy.streamIdleTimeoutMs,
    maxRetries: config.proxy.maxRetries,
    maxRetryWaitMs: config.proxy.maxRetryWaitMs,
    cooldown: config.proxy.cooldown,
    now: overrides.now ?? Date.now,
    generateId,
    random: overrides.random ?? Math.random,
    maxEmbeddingInputs: config.proxy.maxEmbeddingInputs,
    decorateHealth: overrides.decorateHealth,
  });
  const reasoningSeal = createReasoningSeal(resolveReasoningKeys(config.reasoning.keys, keys));
  return {
    config,
    // Edges reach the seal through the core they are handed (src/auth/restrict-core.ts spreads it along).
    core: { ...core, reasoningSeal },
    reasoningSeal,
    close: async () => {
      await ownTransport?.close();
    },
  };
}

/** A request's hold on the runtime it started with; release it once the response is over (idempotent). */
export interface RuntimeLease {
  readonly runtime: Runtime;
  release(): void;
}

/** Holds the current runtime; each request leases the one current when it arrived. */
export interface RuntimeHolder {
  readonly current: Runtime;
  /** Leases the current runtime: a retired runtime is closed only after its last lease is released. */
  acquire(): RuntimeLease;
  /** Installs a new runtime and returns the old one, which the caller then owns. */
  swap(next: Runtime): Runtime;
  /**
   * Installs a new runtime atomically; the old one keeps serving the requests that leased it and is closed
   * once the last of them is released. Resolves when it has been closed.
   */
  replace(next: Runtime): Promise<void>;
}

interface Slot {
  readonly runtime: Runtime;
  leases: number;
  /** Set when the slot is retired: called when its last lease goes. */
  onDrained: (() => void) | undefined;
}

/** Creates the holder. */
export function createRuntimeHolder(initial: Runtime): RuntimeHolder {
  let slot: Slot = { runtime: initial, leases: 0, onDrained: undefined };
  return {
    get current() {
      return slot.runtime;
    },
    acquire(): RuntimeLease {
      const leased = slot;
      leased.leases += 1;
      let released = false;
      return {
        runtime: leased.runtime,
        release() {
          if (released) return;
          released = true;
          leased.leases -= 1;
          if (leased.leases === 0) leased.onDrained?.();
        },
      };
    },
    swap(next: Runtime): Runtime {
      const previous = slot.runtime;
      slot = { runtime: next, leases: 0, onDrained: undefined };
      return previous;
    },
    async replace(next: Runtime): Promise<void> {
      const previous = slot;
      slot = { runtime: next, leases: 0, onDrained: undefined };
      if (previous.leases > 0) {
        await new Promise<void>((resolve) => {
          previous.onDrained = resolve;
        });
      }
      await previous.runtime.close();
    },
  };
}
