/**
 * Canonical → proto, the outbound half of the gRPC mapping (requests are decoded in convert.ts). Chunks follow
 * OpenAI's chat.completion.chunk conventions so a gRPC stream reads like the SSE stream of the HTTP edge.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/streaming
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type ChatCompletionChunk,
  ChatCompletionChunkSchema,
  type CreateChatCompletionResponse,
  CreateChatCompletionResponseSchema,
  type DeltaSchema,
  type ListModelsResponse,
  ListModelsResponseSchema,
  type ToolCallSchema,
  type UsageSchema,
} from "../../gen/llmproxy/v1/chat_pb.ts";
import type { ChatStream } from "../core/chat-stream.ts";
import {
  type ChatChunk,
  type ChatResult,
  type ModelInfo,
  type ToolCall,
  toWireFinishReason,
  type Usage,
} from "../core/types.ts";

/** Encodes one canonical chunk; undefined when it has no wire form (tool-call-end, usage nobody asked for). */
export type ChunkEncoder = (chunk: ChatChunk) => ChatCompletionChunk | undefined;

type DeltaInit = MessageInitShape<typeof DeltaSchema>;

/**
 * A stateful encoder for one stream: it remembers which choices have already sent their first chunk, because
 * only that one carries `role: "assistant"`. The usage chunk (no choices) is sent only if the client asked for
 * it with stream_options.include_usage, as OpenAI does.
 */
export function createChunkEncoder(
  stream: Pick<ChatStream, "id" | "created" | "model">,
  includeUsage: boolean,
  /** The choices that sent their first chunk; shared with an encoder that writes some chunks itself. */
  startedChoices: Set<number> = new Set(),
): ChunkEncoder {
  const created = toUnixSeconds(stream.created);
  const frame = (init: Pick<MessageInitShape<typeof ChatCompletionChunkSchema>, "choices" | "usage">) =>
    create(ChatCompletionChunkSchema, {
      id: stream.id,
      object: "chat.completion.chunk",
      created,
      model: stream.model,
      ...init,
    });
  const choiceFrame = (choice: number, delta: DeltaInit, finishReason?: string) => {
    const role = startedChoices.has(choice) ? undefined : "assistant";
    startedChoices.add(choice);
    return frame({ choices: [{ index: choice, delta: { ...delta, role }, finishReason }] });
  };

  return (chunk) => {
    switch (chunk.type) {
      case "text-delta":
        return choiceFrame(chunk.choice, { content: chunk.text });
      case "reasoning-delta":
        return choiceFrame(chunk.choice, { reasoningContent: chunk.text });
      case "tool-call-start":
        return choiceFrame(chunk.choice, {
          toolCalls: [
            {
              index: chunk.index,
              id: chunk.id,
              type: "function",
              function: { name: chunk.name, arguments: "" },
            },
          ],
        });
      case "tool-call-delta":
        return choiceFrame(chunk.choice, {
          toolCalls: [{ index: chunk.index, function: { arguments: chunk.arguments } }],
        });
      case "finish":
        return choiceFrame(chunk.choice, {}, toWireFinishReason(chunk.reason, chunk.rawReason));
      case "usage":
        return includeUsage ? frame({ choices: [], usage: toProtoUsage(chunk.usage) }) : undefined;
      case "tool-call-end":
        // OpenAI's stream has no end marker for a tool call: the next index or the finish implies it.
        return undefined;
      case "response-start":
        // The core folds it into the ChatStream header (id, model) and never yields it.
        return undefined;
      default:
        return assertNever(chunk);
    }
  };
}

/** The whole completion as CreateChatCompletionResponse (OpenAI's chat.completion object). */
export function toProtoResponse(result: ChatResult): CreateChatCompletionResponse {
  return create(CreateChatCompletionResponseSchema, {
    id: result.id,
    object: "chat.completion",
    created: toUnixSeconds(result.created),
    model: result.model,
    choices: result.choices.map((choice) => ({
      index: choice.index,
      message: {
        role: "assistant",
        content: choice.content ?? undefined,
        reasoningContent: choice.reasoningContent,
        toolCalls: choice.toolCalls.map(toProtoToolCall),
      },
      finishReason: toWireFinishReason(choice.finishReason, choice.rawFinishReason),
    })),
    usage: result.usage === undefined ? undefined : toProtoUsage(result.usage),
  });
}

/**
 * The public models as OpenAI's model list. `created` is 0: the gateway has no creation date for a route, and
 * inventing one (e.g. the process start time) would change on every restart.
 */
export function toProtoModels(models: readonly ModelInfo[]): ListModelsResponse {
  return create(ListModelsResponseSchema, {
    object: "list",
    data: models.map((model) => ({ id: model.id, object: "model", created: 0n, ownedBy: model.ownedBy })),
  });
}

function toProtoToolCall(call: ToolCall): MessageInitShape<typeof ToolCallSchema> {
  return { id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } };
}

function toProtoUsage(usage: Usage): MessageInitShape<typeof UsageSchema> {
  return {
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    totalTokens: usage.totalTokens,
    cachedTokens: usage.cachedTokens,
    reasoningTokens: usage.reasoningTokens,
  };
}

/** int64 seconds; truncates defensively because BigInt() throws on a fractional number. */
function toUnixSeconds(seconds: number): bigint {
  return BigInt(Math.trunc(seconds));
}

function assertNever(value: never): never {
  throw new Error(`unhandled chat chunk: ${JSON.stringify(value)}`);
}
