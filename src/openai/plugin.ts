/**
 * The OpenAI-compatible edge: POST /v1/chat/completions (JSON or SSE), POST /v1/embeddings
 * (./embeddings-route.ts) and GET /v1/models. It decodes,
 * calls the core, and encodes; routing, retries and providers live in the core.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ChatCore, ChatStream } from "../core/chat-stream.ts";
import { type CallAbort, CallAborts } from "../edge/call-abort.ts";
import { callOptionsOf } from "../edge/call-options.ts";
import { acceptJsonBodies } from "../edge/json-body.ts";
import { openAIRouteEdge } from "../edge/openai-route-edge.ts";
import { stampAnswer, stampStreamStart } from "../edge/overhead.ts";
import { replyHeaders } from "../edge/response-headers.ts";
import { type SseResponse, startSse } from "../edge/sse.ts";
import { registerEmbeddingsRoute } from "./embeddings-route.ts";
import { toOpenAICompletion } from "./from-canonical.ts";
import { MODEL_RETRIEVE_PATH, retrieveModel } from "./model-retrieve.ts";
import { pumpSse } from "./sse-pump.ts";
import { decodeChatCompletion } from "./to-canonical.ts";

/** Plugin options: a getter, because a config reload swaps the core (and a client key may narrow it). */
export interface OpenAIPluginOptions {
  readonly getCore: (request: FastifyRequest) => ChatCore;
  /** Aborted (with the error to report) when shutdown ends the calls still in flight (src/shutdown.ts). */
  readonly shutdownSignal?: AbortSignal;
}

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
/** The routes' declarations: metrics and access lines say `api="chat"` / `"models"`; errors in OpenAI's envelope. */
const CHAT_EDGE = openAIRouteEdge("chat", true);
const MODELS_EDGE = openAIRouteEdge("models", false);
const EMBEDDINGS_EDGE = openAIRouteEdge("embeddings", true);

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

  /**
   * Decodes and calls the core: answers a non-streaming call, or returns the opened stream. Kept apart from the
   * handler so that neither the parsed body nor the decoded request (the whole prompt) stays referenced while
   * the answer streams: the handler's frame lives until the last chunk.
   */
  async function start(request: FastifyRequest, reply: FastifyReply): Promise<OpenedSse | undefined> {
    const core = options.getCore(request);
    const { request: chatRequest, stream } = decodeChatCompletion(request.body, core.defaultModel);
    request.body = undefined;
    const call = aborts.watch(reply.raw);
    const callOptions = callOptionsOf(request, call.signal);
    if (!stream) {
      let result: Awaited<ReturnType<ChatCore["complete"]>>;
      try {
        result = await core.complete(chatRequest, callOptions);
      } catch (error) {
        throw call.failure(error);
      } finally {
        call.end();
      }
      stampAnswer(reply, request.record);
      // Serialized here, so Fastify sends the string as is.
      reply.type(JSON_CONTENT_TYPE).send(JSON.stringify(toOpenAICompletion(result)));
      return undefined;
    }
    let opened: ChatStream;
    try {
      opened = await core.openStream(chatRequest, callOptions);
    } catch (error) {
      call.end();
      throw call.failure(error);
    }
    stampStreamStart(reply, request.record);
    return { stream: opened, includeUsage: chatRequest.includeUsage, call };
  }

  app.post("/v1/chat/completions", { config: { edge: CHAT_EDGE } }, async (request, reply) => {
    const opened = await start(request, reply);
    if (opened === undefined) return reply;
    reply.hijack();
    const raw: SseResponse = reply.raw;
    startSse(raw, replyHeaders(reply));
    await pumpSse(raw, opened.stream, opened.includeUsage, opened.call, request.log);
    return reply;
  });
}

/** A streaming call whose first chunk has arrived. */
interface OpenedSse {
  readonly stream: ChatStream;
  readonly includeUsage: boolean;
  readonly call: CallAbort;
}
