/**
 * Test-side inverses of src/grpc's mapping: canonical ChatRequest → proto request (what a gRPC client would send)
 * and proto chunks → canonical chunks (what a client reassembles). Used by the round-trip properties.
 */
import { create } from "@bufbuild/protobuf";
import {
  type ChatCompletionChunk,
  ChatMessageSchema,
  type CreateChatCompletionRequest,
  CreateChatCompletionRequestSchema,
  type Annotation as ProtoAnnotation,
  type ChatMessage as ProtoChatMessage,
  type ChoiceLogprobs as ProtoLogprobs,
} from "../../gen/llmproxy/v1/chat_pb.ts";
import type {
  Annotation,
  ChatChunk,
  ChatMessage,
  ChatRequest,
  ChoiceLogprobs,
  FinishReason,
  TopLogprob,
  Usage,
} from "../../src/core/types.ts";

/** Canonical → proto request; undefined fields stay unset. */
export function toProtoRequest(request: ChatRequest): CreateChatCompletionRequest {
  const format = request.responseFormat;
  return create(CreateChatCompletionRequestSchema, {
    model: request.model,
    messages: request.messages.map(toProtoMessage),
    temperature: request.temperature,
    topP: request.topP,
    maxTokens: request.maxTokens,
    maxCompletionTokens: request.maxCompletionTokens,
    stop: request.stop === undefined ? [] : [...request.stop],
    n: request.n,
    seed: request.seed === undefined ? undefined : BigInt(request.seed),
    user: request.user ?? "",
    tools: (request.tools ?? []).map((tool) => ({
      type: "function",
      function: {
        name: tool.name,
        description: tool.description ?? "",
        parameters: tool.parameters,
        strict: tool.strict,
      },
    })),
    toolChoice:
      request.toolChoice === undefined
        ? undefined
        : request.toolChoice.type === "function"
          ? { choice: { case: "functionName", value: request.toolChoice.name } }
          : { choice: { case: "mode", value: request.toolChoice.type } },
    responseFormat:
      format === undefined
        ? undefined
        : format.type === "json_schema"
          ? {
              type: format.type,
              jsonSchema: {
                name: format.name,
                description: format.description ?? "",
                schema: format.schema,
                strict: format.strict,
              },
            }
          : { type: format.type },
    streamOptions: { includeUsage: request.includeUsage },
    reasoningEffort: request.reasoningEffort ?? "",
    presencePenalty: request.presencePenalty,
    frequencyPenalty: request.frequencyPenalty,
    parallelToolCalls: request.parallelToolCalls,
    extraBody: request.extraBody,
  });
}

function toProtoMessage(message: ChatMessage): ProtoChatMessage {
  const content = message.content;
  return create(ChatMessageSchema, {
    role: message.role,
    content: typeof content === "string" ? content : undefined,
    contentParts: Array.isArray(content)
      ? content.map((part) =>
          part.type === "text"
            ? { part: { case: "text" as const, value: part.text } }
            : { part: { case: "imageUrl" as const, value: { url: part.url, detail: part.detail ?? "" } } },
        )
      : [],
    name: message.name ?? "",
    toolCallId: message.toolCallId ?? "",
    toolCalls: (message.toolCalls ?? []).map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments },
    })),
    reasoningContent: message.reasoningContent,
  });
}

const KNOWN_REASONS: readonly FinishReason[] = ["stop", "length", "tool_calls", "content_filter"];

/** Proto chunks → canonical chunks, as a client reassembles them (tool-call-end has no wire form). */
export function fromProtoChunks(chunks: readonly ChatCompletionChunk[]): ChatChunk[] {
  const out: ChatChunk[] = [];
  for (const chunk of chunks) {
    if (chunk.usage !== undefined) out.push({ type: "usage", usage: fromProtoUsage(chunk.usage) });
    for (const { index: choice, delta, finishReason, logprobs: wireLogprobs } of chunk.choices) {
      const logprobs = wireLogprobs === undefined ? undefined : fromProtoLogprobs(wireLogprobs);
      // A finish's empty content is a choice that said nothing, not a piece of text.
      const emptyAnswer = finishReason !== undefined && delta?.content === "";
      if (delta?.content !== undefined && !emptyAnswer) {
        out.push(
          logprobs === undefined
            ? { type: "text-delta", choice, text: delta.content }
            : { type: "text-delta", choice, text: delta.content, logprobs },
        );
      }
      if (delta?.reasoningContent !== undefined) {
        out.push({ type: "reasoning-delta", choice, text: delta.reasoningContent });
      }
      if (delta?.refusal !== undefined) {
        out.push(
          logprobs === undefined
            ? { type: "refusal-delta", choice, text: delta.refusal }
            : { type: "refusal-delta", choice, text: delta.refusal, logprobs },
        );
      }
      if (delta !== undefined && delta.annotations.length > 0) {
        out.push({
          type: "annotation-delta",
          choice,
          annotations: delta.annotations.map(fromProtoAnnotation),
        });
      }
      for (const call of delta?.toolCalls ?? []) {
        if (call.id !== undefined) {
          out.push({
            type: "tool-call-start",
            choice,
            index: call.index,
            id: call.id,
            name: call.function?.name ?? "",
          });
        } else {
          out.push({
            type: "tool-call-delta",
            choice,
            index: call.index,
            arguments: call.function?.arguments ?? "",
          });
        }
      }
      if (finishReason !== undefined) {
        const reason = KNOWN_REASONS.find((known) => known === finishReason) ?? "other";
        out.push({ type: "finish", choice, reason, rawReason: finishReason });
      }
    }
  }
  return out;
}

/** Proto usage → canonical, with the details the message has set. */
export function fromProtoUsage(usage: NonNullable<ChatCompletionChunk["usage"]>): Usage {
  const { $typeName: _type, $unknown: _unknown, ...counts } = usage;
  return counts;
}

function fromProtoTop(top: { token: string; logprob: number; bytes: number[] }): TopLogprob {
  return { token: top.token, logprob: top.logprob, bytes: top.bytes };
}

/** Proto logprobs → canonical, both lists always present (proto has no null list). */
export function fromProtoLogprobs(logprobs: ProtoLogprobs): ChoiceLogprobs {
  const tokens = (list: ProtoLogprobs["content"]) =>
    list.map((token) => ({ ...fromProtoTop(token), topLogprobs: token.topLogprobs.map(fromProtoTop) }));
  return { content: tokens(logprobs.content), refusal: tokens(logprobs.refusal) };
}

/** Proto annotation → canonical url_citation. */
export function fromProtoAnnotation(annotation: ProtoAnnotation): Annotation {
  const citation = annotation.urlCitation;
  return {
    type: "url_citation",
    url: citation?.url ?? "",
    title: citation?.title ?? "",
    startIndex: citation?.startIndex ?? 0,
    endIndex: citation?.endIndex ?? 0,
  };
}
