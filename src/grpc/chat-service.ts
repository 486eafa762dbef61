/**
 * llmproxy.v1.ChatService on top of the chat core. Each method decodes, calls the core and encodes; routing,
 * retries and fallbacks live in the core. Failures end the RPC with the mapped status (mid-stream too: Connect
 * writes it into the trailers), and are logged once here through the request's logger.
 */
import { ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { ChatCompletionChunk, ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import type { ChatCore, ChatStream } from "../core/chat-stream.ts";
import { ProxyError, type ProxyErrorKind } from "../core/errors.ts";
import { scrubErrorForLog } from "../core/secret-scrubber.ts";
import { startOnFirstRead } from "../core/start-on-first-read.ts";
import { OVERHEAD_HEADER, stampCompletion, stampFirstByte } from "../telemetry/request-record.ts";
import { callOptionsFrom, kRequestScope } from "./call-options.ts";
import { toChatRequest } from "./convert.ts";
import { createChunkEncoder, toProtoModels, toProtoResponse } from "./convert-response.ts";
import { toConnectError } from "./errors.ts";

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
        const chatRequest = toChatRequest(request, core.defaultModel);
        const result = await core.complete(chatRequest, callOptionsFrom(context));
        setOverheadHeader(context, stampCompletion(context.values.get(kRequestScope)?.record));
        return toProtoResponse(result);
      } catch (error) {
        throw reportFailure(error, context);
      }
    },

    // Not a generator: one would keep `request` (the whole prompt) for as long as the answer streams.
    streamChatCompletion(request, context) {
      return startOnFirstRead(async () => {
        try {
          const core = getCore(context);
          const chatRequest = toChatRequest(request, core.defaultModel);
          const stream = await core.openStream(chatRequest, callOptionsFrom(context));
          // Response headers go out with the first message, just after this.
          setOverheadHeader(context, stampFirstByte(context.values.get(kRequestScope)?.record));
          return relayChunks(stream, createChunkEncoder(stream, chatRequest.includeUsage), context);
        } catch (error) {
          throw reportFailure(error, context);
        }
      });
    },

    listModels(_request, context) {
      return toProtoModels(getCore(context).listModels());
    },
  };
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
    throw reportFailure(error, context);
  }
}

/**
 * Logs a failed RPC and returns the error to end it with. When Connect aborted the call itself (client cancel,
 * grpc-timeout, shutdown), its own reason is the truth and is what the client gets (if it is still there).
 */
function reportFailure(error: unknown, context: HandlerContext): ConnectError {
  const abortReason: unknown = context.signal.aborted ? context.signal.reason : undefined;
  const connectError = abortReason instanceof ConnectError ? abortReason : toConnectError(error);
  const proxyError = ProxyError.from(error);
  const fields = {
    err: scrubErrorForLog(error),
    kind: proxyError.kind,
    grpcCode: connectError.code,
    rpc: context.method.name,
  };
  const scope = context.values.get(kRequestScope);
  scope?.log[logLevelFor(proxyError.kind)](fields, "rpc failed");
  if (scope?.record) {
    scope.record.grpcCode = connectError.code;
    scope.record.errorKind ??= proxyError.kind;
  }
  return connectError;
}

function setOverheadHeader(context: HandlerContext, milliseconds: string | undefined): void {
  if (milliseconds !== undefined) context.responseHeader.set(OVERHEAD_HEADER, milliseconds);
}

/** Our bugs are errors; the client's own doing (a bad request, hanging up) is routine; the rest needs an eye. */
export function logLevelFor(kind: ProxyErrorKind): "error" | "warn" | "info" {
  if (kind === "internal") return "error";
  return kind === "invalid_request" || kind === "cancelled" ? "info" : "warn";
}
