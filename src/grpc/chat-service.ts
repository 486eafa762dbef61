/**
 * llmproxy.v1.ChatService on top of the chat core, for the calls Connect's handler serves (gRPC-web, the Connect
 * protocol, compressed gRPC, ListModels); plain gRPC chat calls take the fast lane (./fast-lane.ts), which answers
 * with the same bytes. Each method decodes, calls the core and encodes; routing, retries and fallbacks live in the
 * core. Failures end the RPC with the mapped status (mid-stream too: Connect writes it into the trailers), and are
 * reported once here (./rpc-failure.ts).
 */
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { ChatCompletionChunk, ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import type { ChatCore, ChatStream } from "../core/chat-stream.ts";
import { startOnFirstRead } from "../core/start-on-first-read.ts";
import { stampStreamStart } from "../edge/index.ts";
import { CarrierReader, StreamReasoning } from "../edge/reasoning-carrier.ts";
import { connectCallOptions, kEdgeRequest } from "./call-options.ts";
import { toChatRequest } from "./convert.ts";
import { createChunkEncoder, toProtoModels, toProtoResponse } from "./convert-response.ts";
import { reportConnectFailure, stampConnectAnswer } from "./rpc-failure.ts";

/**
 * The service implementation. `getCore` is called once per RPC, so a config reload swaps the core for new calls
 * while calls in flight finish on the core they started with.
 */
export function createChatService(
  getCore: (context: HandlerContext) => ChatCore,
): ServiceImpl<typeof ChatService> {
  return {
    async createChatCompletion(request, context) {
      try {
        const core = getCore(context);
        const chatRequest = toChatRequest(request, core.defaultModel, carrierReader(core, context));
        const result = await core.complete(chatRequest, connectCallOptions(context));
        stampConnectAnswer(context);
        return toProtoResponse(result, core.reasoningSeal);
      } catch (error) {
        throw reportConnectFailure(error, context);
      }
    },

    // Not a generator: one would keep `request` (the whole prompt) for as long as the answer streams.
    streamChatCompletion(request, context) {
      return startOnFirstRead(async () => {
        try {
          const core = getCore(context);
          const chatRequest = toChatRequest(request, core.defaultModel, carrierReader(core, context));
          const stream = await core.openStream(chatRequest, connectCallOptions(context));
          // Response headers go out with the first message, just after this.
          stampStreamStart(context.responseHeader, context.values.get(kEdgeRequest)?.record);
          const seal = core.reasoningSeal;
          const reasoning = seal === undefined ? undefined : new StreamReasoning(stream, seal);
          const encode = createChunkEncoder(stream, chatRequest.includeUsage, undefined, reasoning);
          return relayChunks(stream, encode, context);
        } catch (error) {
          throw reportConnectFailure(error, context);
        }
      });
    },

    listModels(_request, context) {
      return toProtoModels(getCore(context).listModels());
    },
  };
}

/** Opens the call's reasoning carriers (warnings go to the call's log line context). */
function carrierReader(core: ChatCore, context: HandlerContext): CarrierReader | undefined {
  const log = context.values.get(kEdgeRequest)?.log;
  return core.reasoningSeal === undefined || log === undefined
    ? undefined
    : new CarrierReader(core.reasoningSeal, log);
}

async function* relayChunks(
  stream: ChatStream,
  encode: ReturnType<typeof createChunkEncoder>,
  context: HandlerContext,
): AsyncGenerator<ChatCompletionChunk> {
  try {
    for await (const chunk of stream.chunks) {
      const message = encode(chunk);
      if (message !== undefined) yield message;
    }
  } catch (error) {
    throw reportConnectFailure(error, context);
  }
}
