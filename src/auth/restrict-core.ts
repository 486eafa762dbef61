/**
 * Per-key model allow lists, enforced in one place for both edges: the edge gets a view of the core that refuses
 * a model the key may not use and lists only the models it may. A refused model is answered exactly like an
 * unknown one (404 / NOT_FOUND, same message), so a key cannot discover which models others are allowed.
 * The check is on the public model the request resolved to (after the default model is filled in); fallbacks the
 * operator configured behind an allowed model are part of that model and stay allowed.
 */
import type { ChatCore } from "../core/chat-stream.ts";
import { ProxyError } from "../core/errors.ts";
import type { Principal } from "./keys.ts";

/** The core as `principal` may see it (the core itself when the key has no allow list). */
export function restrictCore(core: ChatCore, principal: Principal | undefined): ChatCore {
  const access = principal?.models;
  if (access === undefined) return core;
  const check = (model: string): void => {
    if (!access.allows(model)) {
      throw new ProxyError("model_not_found", `The model '${model}' does not exist on this gateway.`, {
        param: "model",
        code: "model_not_found",
      });
    }
  };
  return {
    ...core,
    listModels: () => core.listModels().filter((model) => access.allows(model.id)),
    openStream: async (request, options) => {
      check(request.model);
      return core.openStream(request, options);
    },
    complete: async (request, options) => {
      check(request.model);
      return core.complete(request, options);
    },
    embed: async (request, options) => {
      check(request.model);
      return core.embed(request, options);
    },
    countTokens: async (request, options) => {
      check(request.model);
      return core.countTokens?.(request, options);
    },
  };
}
