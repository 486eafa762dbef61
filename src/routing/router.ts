/**
 * Pure routing: public model name → ordered targets (provider + upstream model id), precomputed when the
 * config is (re)loaded so a request costs one map lookup.
 */
import type { Config } from "../config/config.ts";

/** Where one attempt goes. */
export interface Target {
  readonly provider: string;
  readonly upstreamModel: string;
}

/** Resolves public model names. */
export interface Router {
  /** Targets in the order to try them; empty when the model is unknown. */
  resolve(model: string): readonly Target[];
}

/**
 * Builds the router. Besides the names in model_config, `provider/upstream-model` reaches any configured
 * provider directly (as LiteLLM users are used to), e.g. `deepseek/deepseek-chat`.
 */
export function createRouter(config: Config): Router {
  const table = new Map<string, readonly Target[]>();
  for (const route of config.routes) {
    table.set(route.publicModel, [{ provider: route.provider, upstreamModel: route.upstreamModel }]);
  }
  return {
    resolve(model: string): readonly Target[] {
      const targets = table.get(model);
      if (targets !== undefined) return targets;
      const slash = model.indexOf("/");
      if (slash <= 0 || slash === model.length - 1) return [];
      const provider = model.slice(0, slash);
      if (!config.providers.has(provider)) return [];
      return [{ provider, upstreamModel: model.slice(slash + 1) }];
    },
  };
}
