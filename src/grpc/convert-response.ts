/**
 * Canonical → proto, the outbound half of the gRPC mapping (requests are decoded in convert.ts). Chunks follow
 * OpenAI's chat.completion.chunk conventions so a gRPC stream reads like the SSE stream of the HTTP edge.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/streaming
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type AnnotationSchema,
  type ChatCompletionChunk,
  ChatCompletionChunkSchema,
  type ChoiceLogprobsSchema,
  type CreateChatCompletionResponse,
  CreateChatCompletionResponseSchema,
  type DeltaSchema,
  type ListModelsResponse,
  ListModelsResponseSchema,
  type TokenLogprobSchema,
  type ToolCallSchema,
  type TopLogprobSchema,
  type UsageSchema,
} from "../../gen/llmproxy/v1/chat_pb.ts";
import type { ChatStream } from "../core/chat-stream.ts";
import type { ReasoningSeal } from "../core/reasoning-seal.ts";
import {
  type Annotation,
  type ChatChunk,
  type ChatResult,
  type ChoiceLogprobs,
  type ModelInfo,
  type ReasoningState,
  type TokenLogprob,
  type ToolCall,
  type TopLogprob,
  toWireFinishReason,
  type Usage,
} from "../core/types.ts";
import { carrierToolCallId, type StreamReasoning, sealTurn } from "../edge/reasoning-carrier.ts";

/** The stream header fields every chunk repeats. */
export type StreamHead = Pick<ChatStream, "id" | "created" | "model" | "systemFingerprint" | "serviceTier">;

/** Encodes one canonical chunk; undefined when it has no wire form (tool-call-end, usage nobody asked for). */
export type ChunkEncoder = (chunk: ChatChunk) => ChatCompletionChunk | undefined;

type DeltaInit = MessageInitShape<typeof DeltaSchema>;

/**
 * A stateful encoder for one stream: it remembers which choices have already sent their first chunk, because
 * only that one carries `role: "assistant"`. The usage chunk (no choices) is sent only if the client asked for
 * it with stream_options.include_usage, as OpenAI does.
 */
export function createChunkEncoder(
  stream: StreamHead,
  includeUsage: boolean,
  /** The choices that sent their first chunk; shared with an encoder that writes some chunks itself. */
  startedChoices: Set<number> = new Set(),
  /** Seals the stream's reasoning state into tool call ids and the finish (none: no carriers). */
  reasoning?: StreamReasoning,
): ChunkEncoder {
  const created = toUnixSeconds(stream.created);
  const frame = (init: Pick<MessageInitShape<typeof ChatCompletionChunkSchema>, "choices" | "usage">) =>
    create(ChatCompletionChunkSchema, {
      id: stream.id,
      object: "chat.completion.chunk",
      created,
      model: stream.model,
      systemFingerprint: stream.systemFingerprint,
      serviceTier: stream.serviceTier,
      ...init,
    });
  const choiceFrame = (
    choice: number,
    delta: DeltaInit,
    finishReason?: string,
    logprobs?: ChoiceLogprobs,
  ) => {
    const role = startedChoices.has(choice) ? undefined : "assistant";
    startedChoices.add(choice);
    const wireLogprobs = logprobs === undefined ? undefined : toProtoLogprobs(logprobs);
    return frame({
      choices: [{ index: choice, delta: { ...delta, role }, finishReason, logprobs: wireLogprobs }],
    });
  };

  return (chunk) => {
    switch (chunk.type) {
      case "text-delta":
        // An empty piece with logprobs only carries them, as on the HTTP edge.
        return chunk.text === "" && chunk.logprobs !== undefined
          ? choiceFrame(chunk.choice, {}, undefined, chunk.logprobs)
          : choiceFrame(chunk.choice, { content: chunk.text }, undefined, chunk.logprobs);
      case "reasoning-delta":
        return choiceFrame(chunk.choice, { reasoningContent: chunk.text });
      case "refusal-delta":
        return choiceFrame(chunk.choice, { refusal: chunk.text }, undefined, chunk.logprobs);
      case "annotation-delta":
        return choiceFrame(chunk.choice, { annotations: chunk.annotations.map(toProtoAnnotation) });
      case "tool-call-start":
        reasoning?.add(chunk);
        return choiceFrame(chunk.choice, {
          toolCalls: [
            {
              index: chunk.index,
              id: reasoning?.toolCallId(chunk.id, chunk.signature) ?? chunk.id,
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
        // A choice that said nothing before its finish has empty content, as its whole answer and SSE say. Its
        // sealed reasoning state, whole, rides on this last chunk.
        return choiceFrame(
          chunk.choice,
          {
            ...(startedChoices.has(chunk.choice) ? {} : { content: "" }),
            reasoningState: reasoning?.finish(chunk.choice),
          },
          toWireFinishReason(chunk.reason, chunk.rawReason),
        );
      case "usage":
        return includeUsage ? frame({ choices: [], usage: toProtoUsage(chunk.usage) }) : undefined;
      case "tool-call-end":
        // OpenAI's stream has no end marker for a tool call: the next index or the finish implies it.
        return undefined;
      case "reasoning-state":
        // Gathered for the carrier sent with the finish, never shown as such.
        reasoning?.add(chunk);
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
export function toProtoResponse(result: ChatResult, seal?: ReasoningSeal): CreateChatCompletionResponse {
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
        reasoningState:
          seal === undefined || choice.reasoningState === undefined
            ? undefined
            : sealTurn(seal, choice.reasoningState),
        toolCalls: choice.toolCalls.map((call) => toProtoToolCall(call, choice.reasoningState, seal)),
        refusal: choice.refusal,
        annotations: choice.annotations?.map(toProtoAnnotation),
      },
      finishReason: toWireFinishReason(choice.finishReason, choice.rawFinishReason),
      logprobs: choice.logprobs === undefined ? undefined : toProtoLogprobs(choice.logprobs),
    })),
    usage: result.usage === undefined ? undefined : toProtoUsage(result.usage),
    systemFingerprint: result.systemFingerprint,
    serviceTier: result.serviceTier,
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

function toProtoToolCall(
  call: ToolCall,
  state: ReasoningState | undefined,
  seal: ReasoningSeal | undefined,
): MessageInitShape<typeof ToolCallSchema> {
  const id =
    seal === undefined || state === undefined
      ? call.id
      : carrierToolCallId(seal, state.origin, call.id, state.toolSignatures?.[call.id]);
  return { id, type: "function", function: { name: call.name, arguments: call.arguments } };
}

function toProtoUsage(usage: Usage): MessageInitShape<typeof UsageSchema> {
  return {
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    totalTokens: usage.totalTokens,
    cachedTokens: usage.cachedTokens,
    reasoningTokens: usage.reasoningTokens,
    cacheWriteTokens: usage.cacheWriteTokens,
    promptAudioTokens: usage.promptAudioTokens,
    completionAudioTokens: usage.completionAudioTokens,
    acceptedPredictionTokens: usage.acceptedPredictionTokens,
    rejectedPredictionTokens: usage.rejectedPredictionTokens,
  };
}

/** Proto has no null list: a null or missing list is an empty one. */
function toProtoLogprobs(logprobs: ChoiceLogprobs): MessageInitShape<typeof ChoiceLogprobsSchema> {
  return {
    content: logprobs.content?.map(toProtoTokenLogprob) ?? [],
    refusal: logprobs.refusal?.map(toProtoTokenLogprob) ?? [],
  };
}

function toProtoTopLogprob(top: TopLogprob): MessageInitShape<typeof TopLogprobSchema> {
  return { token: top.token, logprob: top.logprob, bytes: top.bytes ? [...top.bytes] : [] };
}

function toProtoTokenLogprob(token: TokenLogprob): MessageInitShape<typeof TokenLogprobSchema> {
  return {
    token: token.token,
    logprob: token.logprob,
    bytes: token.bytes ? [...token.bytes] : [],
    topLogprobs: token.topLogprobs?.map(toProtoTopLogprob) ?? [],
  };
}

function toProtoAnnotation(annotation: Annotation): MessageInitShape<typeof AnnotationSchema> {
  return {
    type: annotation.type,
    urlCitation: {
      url: annotation.url,
      title: annotation.title,
      startIndex: annotation.startIndex,
      endIndex: annotation.endIndex,
    },
  };
}

/** int64 seconds; truncates defensively because BigInt() throws on a fractional number. */
function toUnixSeconds(seconds: number): bigint {
  return BigInt(Math.trunc(seconds));
}

function assertNever(value: never): never {
  throw new Error(`unhandled chat chunk: ${JSON.stringify(value)}`);
}
