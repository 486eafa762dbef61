/**
 * The OpenAI-compatible edge: POST /v1/chat/completions (JSON or SSE), POST /v1/embeddings
 * (./embeddings-route.ts) and GET /v1/models. It decodes,
 * calls the core, and encodes; routing, retries and providers live in the core.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ChatCore } from "../core/chat-stream.ts";
import type { ReasoningSeal } from "../core/reasoning-seal.ts";
import { CallAborts } from "../edge/call-abort.ts";
import { acceptJsonBodies } from "../edge/json-body.ts";
import { type ModelCallEdge, modelCallHandler } from "../edge/model-call.ts";
import { openAIRouteEdge } from "../edge/openai-route-edge.ts";
import { CarrierReader } from "../edge/reasoning-carrier.ts";
import { registerEmbeddingsRoute } from "./embeddings-route.ts";
import { toOpenAICompletion } from "./from-canonical.ts";
import { MODEL_RETRIEVE_PATH, retrieveModel } from "./model-retrieve.ts";
import { ChatSseEncoder } from "./sse-writer.ts";
import { type DecodedChatCompletion, decodeChatCompletion } from "./to-canonical.ts";

/** Plugin options: a getter, because a config reload swaps the core (and a client key may narrow it). */
export interface OpenAIPluginOptions {
  readonly getCore: (request: FastifyRequest) => ChatCore;
  /** Aborted (with the error to report) when shutdown ends the calls still in flight (src/shutdown.ts). */
  readonly shutdownSignal?: AbortSignal;
}

/** The routes' declarations: metrics and access lines say `api="chat"` / `"models"`; errors in OpenAI's envelope. */
const CHAT_EDGE = openAIRouteEdge("chat", true);
const MODELS_EDGE = openAIRouteEdge("models", false);
const EMBEDDINGS_EDGE = openAIRouteEdge("embeddings", true);
/** What the encoders keep of a request: whether usage was asked for, and the seal of its reasoning carriers. */
interface ChatExtra {
  readonly includeUsage: boolean;
  readonly seal: ReasoningSeal | undefined;
}

/** Chat completions' decode and encoders for the kit's model-call route. */
const CHAT_CALL: ModelCallEdge<DecodedChatCompletion & { readonly seal?: ReasoningSeal }, ChatExtra> = {
  decode: (request, _reply, core) => {
    const seal = core.reasoningSeal;
    const carriers = seal === undefined ? undefined : new CarrierReader(seal, request.log);
    return { ...decodeChatCompletion(request.body, core.defaultModel, carriers), seal };
  },
  extra: (decoded) => ({ includeUsage: decoded.request.includeUsage, seal: decoded.seal }),
  answer: (result, extra) => toOpenAICompletion(result, extra.seal),
  streamEncoder: (stream, extra) => new ChatSseEncoder(stream, extra.includeUsage, extra.seal),
};

/** Registers the facade routes. Keep it a sibling of the Connect plugin (which replaces the JSON parser). */
export async function openAIPlugin(app: FastifyInstance, options: OpenAIPluginOptions): Promise<void> {
  acceptJsonBodies(app);

  app.get("/v1/models", { config: { edge: MODELS_EDGE } }, async (request) => ({
    object: "list",
    data: options
      .getCore(request)
      .listModels()
      .map((model) => ({
        id: model.id,
        object: "model",
        created: 0,
        owned_by: model.ownedBy,
      })),
  }));
  app.get(MODEL_RETRIEVE_PATH, { config: { edge: MODELS_EDGE } }, retrieveModel(options.getCore));

  const aborts = new CallAborts(options.shutdownSignal);
  registerEmbeddingsRoute(app, EMBEDDINGS_EDGE, options.getCore, aborts);

  app.post(
    "/v1/chat/completions",
    { config: { edge: CHAT_EDGE } },
    modelCallHandler(CHAT_CALL, options.getCore, aborts),
  );
}
