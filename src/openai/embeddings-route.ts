/**
 * POST /v1/embeddings: decodes the OpenAI body, calls the core's `embed` (routing, retries, fallbacks, keys,
 * observers), and answers OpenAI's list of embeddings. A base64 request (the official SDKs' default) gets each
 * vector as base64 of little-endian float32; a float request gets JSON numbers. Errors go out in OpenAI's
 * envelope through the shared error handler, like chat's.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ChatCore } from "../core/chat-stream.ts";
import type { EmbeddingsResult } from "../core/embeddings-types.ts";
import { toFloat32Base64 } from "../core/float32-base64.ts";
import type { CallAborts } from "../edge/call-abort.ts";
import { callOptionsOf } from "../edge/call-options.ts";
import { stampAnswer } from "../edge/overhead.ts";
import type { RouteEdge } from "../edge/route-edge.ts";
import { decodeEmbeddings, type EncodingFormat } from "./embeddings-request.ts";

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** Registers the route on the OpenAI plugin's scope (its body parsing), declared as `edge` (api="embeddings"). */
export function registerEmbeddingsRoute(
  app: FastifyInstance,
  edge: RouteEdge,
  getCore: (request: FastifyRequest) => ChatCore,
  aborts: CallAborts,
): void {
  app.post("/v1/embeddings", { config: { edge } }, async (request, reply) => {
    const core = getCore(request);
    const { request: embeddingsRequest, encodingFormat } = decodeEmbeddings(request.body, core.defaultModel);
    request.body = undefined;
    const call = aborts.watch(reply.raw);
    let result: EmbeddingsResult;
    try {
      result = await core.embed(embeddingsRequest, callOptionsOf(request, call.signal));
    } catch (error) {
      throw call.failure(error);
    } finally {
      call.end();
    }
    stampAnswer(reply, request.record);
    // Serialized here, so Fastify sends the string as is.
    return reply.type(JSON_CONTENT_TYPE).send(JSON.stringify(toOpenAIEmbeddings(result, encodingFormat)));
  });
}

/** OpenAI's `CreateEmbeddingResponse`. */
export function toOpenAIEmbeddings(result: EmbeddingsResult, encodingFormat: EncodingFormat): object {
  return {
    object: "list",
    data: result.vectors.map((vector, index) => ({
      object: "embedding",
      index,
      embedding: encodingFormat === "base64" ? toFloat32Base64(vector) : vector,
    })),
    model: result.model,
    usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.totalTokens },
  };
}
