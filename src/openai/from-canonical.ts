/**
 * Canonical chunks and results → OpenAI's `chat.completion.chunk` and `chat.completion` JSON.
 * @see docs/wire-formats.md#openai-streaming-sse (the SDK's stream helper needs role first, type and name
 * in each tool call's first fragment, and a finish_reason).
 */
import type { ChatStream } from "../core/chat-stream.ts";
import type { ReasoningSeal } from "../core/reasoning-seal.ts";
import {
  type Annotation,
  type ChatChunk,
  type ChatResult,
  type ChoiceLogprobs,
  type TokenLogprob,
  type TopLogprob,
  toWireFinishReason,
  type Usage,
} from "../core/types.ts";
import { carrierToolCallId, StreamReasoning, sealTurn } from "../edge/reasoning-carrier.ts";

/** OpenAI's usage object; a details object only when the vendor gave one of its counts. */
export function toOpenAIUsage(usage: Usage): Record<string, unknown> {
  const out: Record<string, unknown> = {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
  };
  const { cachedTokens, promptAudioTokens, cacheWriteTokens } = usage;
  if (cachedTokens !== undefined || promptAudioTokens !== undefined || cacheWriteTokens !== undefined) {
    const prompt: Record<string, number> = {};
    if (cachedTokens !== undefined) prompt.cached_tokens = cachedTokens;
    if (promptAudioTokens !== undefined) prompt.audio_tokens = promptAudioTokens;
    if (cacheWriteTokens !== undefined) prompt.cache_write_tokens = cacheWriteTokens;
    out.prompt_tokens_details = prompt;
  }
  const { reasoningTokens, completionAudioTokens, acceptedPredictionTokens, rejectedPredictionTokens } =
    usage;
  if (
    reasoningTokens !== undefined ||
    completionAudioTokens !== undefined ||
    acceptedPredictionTokens !== undefined ||
    rejectedPredictionTokens !== undefined
  ) {
    const completion: Record<string, number> = {};
    if (reasoningTokens !== undefined) completion.reasoning_tokens = reasoningTokens;
    if (completionAudioTokens !== undefined) completion.audio_tokens = completionAudioTokens;
    if (acceptedPredictionTokens !== undefined)
      completion.accepted_prediction_tokens = acceptedPredictionTokens;
    if (rejectedPredictionTokens !== undefined)
      completion.rejected_prediction_tokens = rejectedPredictionTokens;
    out.completion_tokens_details = completion;
  }
  return out;
}

function toOpenAITopLogprob(top: TopLogprob): Record<string, unknown> {
  return { token: top.token, logprob: top.logprob, ...(top.bytes === undefined ? {} : { bytes: top.bytes }) };
}

function toOpenAITokenLogprob(token: TokenLogprob): Record<string, unknown> {
  const top = token.topLogprobs;
  return {
    ...toOpenAITopLogprob(token),
    ...(top === undefined ? {} : { top_logprobs: top === null ? null : top.map(toOpenAITopLogprob) }),
  };
}

/** OpenAI's `logprobs` object, with the keys the vendor sent. */
export function toOpenAILogprobs(logprobs: ChoiceLogprobs): Record<string, unknown> {
  const { content, refusal } = logprobs;
  return {
    ...(content === undefined
      ? {}
      : { content: content === null ? null : content.map(toOpenAITokenLogprob) }),
    ...(refusal === undefined
      ? {}
      : { refusal: refusal === null ? null : refusal.map(toOpenAITokenLogprob) }),
  };
}

/** OpenAI's annotation objects. */
export function toOpenAIAnnotations(annotations: readonly Annotation[]): Record<string, unknown>[] {
  return annotations.map((annotation) => ({
    type: annotation.type,
    url_citation: {
      end_index: annotation.endIndex,
      start_index: annotation.startIndex,
      title: annotation.title,
      url: annotation.url,
    },
  }));
}

/** `"service_tier":…,"system_fingerprint":…,` as OpenAI places them before `choices`, or "" without them. */
function answerMeta(answer: Pick<ChatStream, "serviceTier" | "systemFingerprint">): string {
  const tier =
    answer.serviceTier === undefined ? "" : `"service_tier":${JSON.stringify(answer.serviceTier)},`;
  const fingerprint =
    answer.systemFingerprint === undefined
      ? ""
      : `"system_fingerprint":${JSON.stringify(answer.systemFingerprint)},`;
  return tier + fingerprint;
}

/** Encodes one stream's chunks; the id/created/model prefix is serialised once per stream. */
export interface ChunkEncoder {
  /** SSE events to write before the first chunk: none, since each choice's role rides on its first chunk. */
  opening(): string;
  /** The JSON of the chunk, or undefined when it has no OpenAI counterpart. */
  encode(chunk: ChatChunk): string | undefined;
}

/**
 * Creates the encoder of one stream. Usage chunks are encoded only when the client asked for them.
 *
 * A choice's first chunk carries `role: "assistant"` (OpenAI's SDK requires a role per choice) in the delta the
 * vendor's first piece gives, rather than in an opening `{"role":"assistant","content":""}` sent for every choice
 * up front: so a refusal or a tool-call turn keeps `content` null as the vendor left it, and a choice the vendor
 * never sent (one that ignores `n`) does not appear. A choice whose first chunk is its finish said nothing:
 * it gets `content: ""`, as the whole answer has.
 */
export function createChunkEncoder(
  stream: ChatStream,
  includeUsage: boolean,
  seal?: ReasoningSeal,
): ChunkEncoder {
  const reasoning = seal === undefined ? undefined : new StreamReasoning(stream, seal);
  const prefix = `{"id":${JSON.stringify(stream.id)},"object":"chat.completion.chunk","created":${stream.created},"model":${JSON.stringify(stream.model)},${answerMeta(stream)}`;
  const started: boolean[] = [];
  const withChoice = (
    index: number,
    delta: object,
    finishReason: string | null = null,
    logprobs: ChoiceLogprobs | undefined = undefined,
  ): string => {
    let opened = delta;
    if (started[index] !== true) {
      started[index] = true;
      opened = { role: "assistant", ...delta };
    }
    return `${prefix}"choices":[${JSON.stringify({
      index,
      delta: opened,
      logprobs: logprobs === undefined ? null : toOpenAILogprobs(logprobs),
      finish_reason: finishReason,
    })}]}`;
  };
  // Text deltas are most of a stream: their JSON is this choice's fixed head and tail around the text (the same
  // bytes withChoice gives), so each costs one string escape. A choice's head is made by its first text delta,
  // after its role went out.
  const textHeads: string[] = [];
  const textDelta = (index: number, text: string): string => {
    const head = textHeads[index];
    if (head !== undefined) return `${head}${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]}`;
    textHeads[index] = `${prefix}"choices":[{"index":${index},"delta":{"content":`;
    return withChoice(index, { content: text });
  };
  return {
    opening() {
      return "";
    },
    encode(chunk) {
      switch (chunk.type) {
        case "text-delta":
          if (chunk.logprobs === undefined) return textDelta(chunk.choice, chunk.text);
          // An empty piece only carries logprobs: no `content` key, which would turn a refusal's null into "".
          return withChoice(
            chunk.choice,
            chunk.text === "" ? {} : { content: chunk.text },
            null,
            chunk.logprobs,
          );
        case "reasoning-delta":
          return withChoice(chunk.choice, { reasoning_content: chunk.text });
        case "refusal-delta":
          return withChoice(chunk.choice, { refusal: chunk.text }, null, chunk.logprobs);
        case "annotation-delta":
          return withChoice(chunk.choice, { annotations: toOpenAIAnnotations(chunk.annotations) });
        case "tool-call-start":
          reasoning?.add(chunk);
          return withChoice(chunk.choice, {
            tool_calls: [
              {
                index: chunk.index,
                id: reasoning?.toolCallId(chunk.id, chunk.signature) ?? chunk.id,
                type: "function",
                function: { name: chunk.name, arguments: "" },
              },
            ],
          });
        case "tool-call-delta":
          return withChoice(chunk.choice, {
            tool_calls: [{ index: chunk.index, function: { arguments: chunk.arguments } }],
          });
        case "finish": {
          // The turn's sealed reasoning state rides on the finish, once whole: the SDK's stream helpers copy an
          // unknown delta field onto the message they build, so it is returned with the message.
          const carrier = reasoning?.finish(chunk.choice);
          return withChoice(
            chunk.choice,
            {
              ...(started[chunk.choice] === true ? {} : { content: "" }),
              ...(carrier === undefined ? {} : { reasoning_state: carrier }),
            },
            toWireFinishReason(chunk.reason, chunk.rawReason),
          );
        }
        case "usage":
          return includeUsage
            ? `${prefix}"choices":[],"usage":${JSON.stringify(toOpenAIUsage(chunk.usage))}}`
            : undefined;
        case "reasoning-state":
          reasoning?.add(chunk);
          return undefined;
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

/** The `chat.completion` object of a whole result. Optional keys are set only when present, in OpenAI's order. */
export function toOpenAICompletion(result: ChatResult, seal?: ReasoningSeal): Record<string, unknown> {
  const completion: Record<string, unknown> = {
    id: result.id,
    object: "chat.completion",
    created: result.created,
    model: result.model,
    choices: result.choices.map((choice) => toOpenAIChoice(choice, seal)),
  };
  if (result.usage !== undefined) completion.usage = toOpenAIUsage(result.usage);
  if (result.serviceTier !== undefined) completion.service_tier = result.serviceTier;
  if (result.systemFingerprint !== undefined) completion.system_fingerprint = result.systemFingerprint;
  return completion;
}

function toOpenAIChoice(
  choice: ChatResult["choices"][number],
  seal: ReasoningSeal | undefined,
): Record<string, unknown> {
  const state = seal === undefined ? undefined : choice.reasoningState;
  const message: Record<string, unknown> = {
    role: "assistant",
    content: choice.content,
    refusal: choice.refusal ?? null,
  };
  if (choice.reasoningContent !== undefined) message.reasoning_content = choice.reasoningContent;
  if (seal !== undefined && state !== undefined) message.reasoning_state = sealTurn(seal, state);
  if (choice.annotations !== undefined) message.annotations = toOpenAIAnnotations(choice.annotations);
  if (choice.toolCalls.length > 0) {
    message.tool_calls = choice.toolCalls.map((call) => ({
      id:
        seal === undefined || state === undefined
          ? call.id
          : carrierToolCallId(seal, state.origin, call.id, state.toolSignatures?.[call.id]),
      type: "function",
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  return {
    index: choice.index,
    message,
    logprobs: choice.logprobs === undefined ? null : toOpenAILogprobs(choice.logprobs),
    finish_reason: toWireFinishReason(choice.finishReason, choice.rawFinishReason),
  };
}
