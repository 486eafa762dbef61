/**
 * Canonical chunks and results → OpenAI's `chat.completion.chunk` and `chat.completion` JSON.
 * @see docs/wire-formats.md#openai-streaming-sse (the SDK's stream helper needs role first, type and name
 * in each tool call's first fragment, and a finish_reason).
 */
import type { ChatStream } from "../core/chat-stream.ts";
import { type ChatChunk, type ChatResult, toWireFinishReason, type Usage } from "../core/types.ts";
import { sseEvent } from "./sse-writer.ts";

/** OpenAI's usage object. */
export function toOpenAIUsage(usage: Usage): Record<string, unknown> {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
    ...(usage.cachedTokens === undefined
      ? {}
      : { prompt_tokens_details: { cached_tokens: usage.cachedTokens } }),
    ...(usage.reasoningTokens === undefined
      ? {}
      : { completion_tokens_details: { reasoning_tokens: usage.reasoningTokens } }),
  };
}

/** Encodes one stream's chunks; the id/created/model prefix is serialised once per stream. */
export interface ChunkEncoder {
  /** The opening chunks as SSE events: one per choice, with role "assistant" and empty content. */
  opening(): string;
  /** The JSON of the chunk, or undefined when it has no OpenAI counterpart. */
  encode(chunk: ChatChunk): string | undefined;
}

/** Creates the encoder of one stream. Usage chunks are encoded only when the client asked for them. */
export function createChunkEncoder(stream: ChatStream, includeUsage: boolean): ChunkEncoder {
  const prefix = `{"id":${JSON.stringify(stream.id)},"object":"chat.completion.chunk","created":${stream.created},"model":${JSON.stringify(stream.model)},`;
  const withChoice = (index: number, delta: unknown, finishReason: string | null = null): string =>
    `${prefix}"choices":[${JSON.stringify({ index, delta, logprobs: null, finish_reason: finishReason })}]}`;
  // Text deltas are most of a stream: their JSON is this choice's fixed head and tail around the text (the same
  // bytes withChoice gives), so each costs one string escape.
  const textHeads: string[] = [];
  const textDelta = (index: number, text: string): string => {
    let head = textHeads[index];
    if (head === undefined) {
      head = `${prefix}"choices":[{"index":${index},"delta":{"content":`;
      textHeads[index] = head;
    }
    return `${head}${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]}`;
  };
  return {
    opening() {
      let events = "";
      for (let index = 0; index < stream.choiceCount; index++) {
        events += sseEvent(withChoice(index, { role: "assistant", content: "" }));
      }
      return events;
    },
    encode(chunk) {
      switch (chunk.type) {
        case "text-delta":
          return textDelta(chunk.choice, chunk.text);
        case "reasoning-delta":
          return withChoice(chunk.choice, { reasoning_content: chunk.text });
        case "tool-call-start":
          return withChoice(chunk.choice, {
            tool_calls: [
              {
                index: chunk.index,
                id: chunk.id,
                type: "function",
                function: { name: chunk.name, arguments: "" },
              },
            ],
          });
        case "tool-call-delta":
          return withChoice(chunk.choice, {
            tool_calls: [{ index: chunk.index, function: { arguments: chunk.arguments } }],
          });
        case "finish":
          return withChoice(chunk.choice, {}, toWireFinishReason(chunk.reason, chunk.rawReason));
        case "usage":
          return includeUsage
            ? `${prefix}"choices":[],"usage":${JSON.stringify(toOpenAIUsage(chunk.usage))}}`
            : undefined;
        case "tool-call-end":
        case "response-start":
          return undefined;
        default: {
          const unreachable: never = chunk;
          throw new Error(`unhandled chunk ${JSON.stringify(unreachable)}`);
        }
      }
    },
  };
}

/** The `chat.completion` object of a whole result. */
export function toOpenAICompletion(result: ChatResult): Record<string, unknown> {
  return {
    id: result.id,
    object: "chat.completion",
    created: result.created,
    model: result.model,
    choices: result.choices.map((choice) => ({
      index: choice.index,
      message: {
        role: "assistant",
        content: choice.content,
        refusal: null,
        ...(choice.reasoningContent === undefined ? {} : { reasoning_content: choice.reasoningContent }),
        ...(choice.toolCalls.length === 0
          ? {}
          : {
              tool_calls: choice.toolCalls.map((call) => ({
                id: call.id,
                type: "function",
                function: { name: call.name, arguments: call.arguments },
              })),
            }),
      },
      logprobs: null,
      finish_reason: toWireFinishReason(choice.finishReason, choice.rawFinishReason),
    })),
    ...(result.usage === undefined ? {} : { usage: toOpenAIUsage(result.usage) }),
  };
}
