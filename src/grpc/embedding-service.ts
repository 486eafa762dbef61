/**
 * llmproxy.v1.EmbeddingService on top of the core's `embed`, served by Connect's handler (gRPC, gRPC-web and the
 * Connect protocol). It decodes, calls the core and encodes; routing, retries, fallbacks, keys and observers live
 * in the core. Vectors go out as `repeated float` (float32, as OpenAI's base64 form carries them). Failures end
 * the RPC with the mapped status and are reported once, as ChatService's are (./rpc-failure.ts).
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  type CreateEmbeddingsRequest,
  CreateEmbeddingsResponseSchema,
  type EmbeddingService,
} from "../../gen/llmproxy/v1/embeddings_pb.ts";
import type { ChatCore } from "../core/chat-stream.ts";
import type { EmbeddingsRequest } from "../core/embeddings-types.ts";
import { ProxyError } from "../core/errors.ts";
import { requestModel } from "../edge/request-model.ts";
import { connectCallOptions } from "./call-options.ts";
import { reportConnectFailure, stampConnectAnswer } from "./rpc-failure.ts";

/** The service implementation; `getCore` is called once per RPC (a reload swaps the core for new calls). */
export function createEmbeddingService(
  getCore: (context: HandlerContext) => ChatCore,
): ServiceImpl<typeof EmbeddingService> {
  return {
    async createEmbeddings(request, context) {
      try {
        const core = getCore(context);
        const result = await core.embed(
          toEmbeddingsRequest(request, core.defaultModel),
          connectCallOptions(context),
        );
        stampConnectAnswer(context);
        return create(CreateEmbeddingsResponseSchema, {
          data: result.vectors.map((vector, index) => ({ index, embedding: [...vector] })),
          model: result.model,
          usage: { promptTokens: result.usage.promptTokens, totalTokens: result.usage.totalTokens },
        });
      } catch (error) {
        throw reportConnectFailure(error, context);
      }
    },
  };
}

/** The proto request → canonical; counts, emptiness and dimensions are the core's checks. */
export function toEmbeddingsRequest(
  request: CreateEmbeddingsRequest,
  defaultModel: string | undefined,
): EmbeddingsRequest {
  const model = requestModel(request.model, defaultModel);
  if (request.input.length > 0 && request.tokenInput.length > 0) {
    throw new ProxyError("invalid_request", "Set 'input' (texts) or 'token_input' (token lists), not both.", {
      param: "input",
    });
  }
  return {
    model,
    inputs: request.input.length > 0 ? request.input : request.tokenInput.map((list) => list.tokens),
    dimensions: request.dimensions,
    user: request.user === "" ? undefined : request.user,
  };
}
