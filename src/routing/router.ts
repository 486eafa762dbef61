/**
 * Pure routing: public model name → a plan of model groups (the model's own weighted deployments, then its
 * fallbacks), precomputed when the config is (re)loaded so a request costs one map lookup.
 */
import type { Config, RouteConfig } from "../config/config.ts";

/** One place a model can be served. `key` identifies it for health tracking. */
export interface Deployment {
  readonly key: string;
  readonly provider: string;
  readonly upstreamModel: string;
  readonly weight: number;
}

/** The deployments of one public model. */
export interface ModelGroup {
  readonly model: string;
  readonly deployments: readonly Deployment[];
}

/** Everything the core may try for one request, in order. */
export interface RoutePlan {
  readonly primary: ModelGroup;
  /** Tried in order after the primary group fails with a fallback-worthy error. */
  readonly fallbacks: readonly ModelGroup[];
  /** Replace the remaining groups when the request is too long for a model's context window. */
  readonly contextWindowFallbacks: readonly ModelGroup[];
}

/** Resolves public model names. */
export interface Router {
  /** The plan, or undefined when the model is unknown. */
  resolve(model: string): RoutePlan | undefined;
}

/**
 * Builds the router. Besides the names in model_config, `provider/upstream-model` reaches any configured
 * provider directly (as LiteLLM users are used to), e.g. `deepseek/deepseek-chat`.
 */
export function createRouter(config: Config): Router {
  const groups = new Map<string, ModelGroup>();
  for (const route of config.routes) groups.set(route.publicModel, toGroup(route));
  const plans = new Map<string, RoutePlan>();
  for (const route of config.routes) {
    const groupsOf = (models: readonly string[]) =>
      models.flatMap((model) => {
        const group = groups.get(model);
        return group === undefined ? [] : [group];
      });
    plans.set(route.publicModel, {
      primary: groupsOf([route.publicModel])[0] ?? toGroup(route),
      fallbacks: groupsOf(route.fallbacks),
      contextWindowFallbacks: groupsOf(route.contextWindowFallbacks),
    });
  }
  return {
    resolve(model: string): RoutePlan | undefined {
      return plans.get(model) ?? resolveDirect(config, model);
    },
  };
}

function toGroup(route: RouteConfig): ModelGroup {
  return {
    model: route.publicModel,
    deployments: route.deployments.map((deployment) => ({
      key: `${deployment.provider}/${deployment.upstreamModel}`,
      ...deployment,
    })),
  };
}

function resolveDirect(config: Config, model: string): RoutePlan | undefined {
  const slash = model.indexOf("/");
  if (slash <= 0 || slash === model.length - 1) return undefined;
  const provider = model.slice(0, slash);
  if (!config.providers.has(provider)) return undefined;
  const upstreamModel = model.slice(slash + 1);
  return {
    primary: { model, deployments: [{ key: model, provider, upstreamModel, weight: 1 }] },
    fallbacks: [],
    contextWindowFallbacks: [],
  };
}
