/**
 * GET /v1/models/{model}: one of the models GET /v1/models lists, in the same shape, or OpenAI's 404
 * `model_not_found`. Model names may contain `/` (`deepseek-ai/DeepSeek-V3`): the OpenAI SDK for Node sends it
 * percent-encoded (`%2F`), the Python SDK and curl users literally, so the route is a wildcard, whose value
 * Fastify decodes once.
 * @see https://platform.openai.com/docs/api-reference/models/retrieve
 */
import type { FastifyRequest } from "fastify";
import type { ChatCore } from "../core/chat-stream.ts";
import { ProxyError } from "../core/errors.ts";

/** The route's path, as registered (a wildcard, so an id may span several segments). */
export const MODEL_RETRIEVE_PATH = "/v1/models/*";

/** OpenAI's model object. */
export interface OpenAIModel {
  readonly id: string;
  readonly object: "model";
  readonly created: number;
  readonly owned_by: string;
}

/** The handler: the model named by the path, from the models the request's core (and key) may see. */
export function retrieveModel(getCore: (request: FastifyRequest) => ChatCore) {
  return async (request: FastifyRequest): Promise<OpenAIModel> => {
    const id = modelIdOf(request);
    const model = getCore(request)
      .listModels()
      .find((candidate) => candidate.id === id);
    if (model === undefined) {
      throw new ProxyError("model_not_found", `The model '${id}' does not exist on this gateway.`, {
        param: "model",
        code: "model_not_found",
      });
    }
    return { id: model.id, object: "model", created: 0, owned_by: model.ownedBy };
  };
}

/** The wildcard part of the path, which Fastify has percent-decoded (`a%2Fb` and `a/b` name the same model). */
function modelIdOf(request: FastifyRequest): string {
  return (request.params as Record<string, string | undefined>)["*"] ?? "";
}
