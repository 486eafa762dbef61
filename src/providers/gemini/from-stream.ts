/**
 * Gemini SSE events → canonical chunks. Each event is a complete `GenerateContentResponse` fragment (CRLF
 * framed, no `[DONE]`: the stream just ends), so the end of the stream is only valid once every candidate has
 * sent its `finishReason` (or the prompt was blocked before generation).
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 */
import { ProxyError } from "../../core/errors.ts";
import type { ChatChunk, Usage } from "../../core/types.ts";
import type { SseEvent } from "../sse.ts";
import { mapGeminiErrorPayload } from "./error-map.ts";
import { mapGeminiFinishReason } from "./finish-reason.ts";
import {
  type GeminiCandidate,
  type GeminiChunk,
  type GeminiPart,
  type GeminiUsageMetadata,
  geminiChunkSchema,
  geminiErrorEnvelopeSchema,
} from "./wire.ts";

/** What the conversion needs from its call. */
export interface GeminiStreamOptions {
  /** Choices the request asked for (n): a blocked prompt finishes each of them. */
  readonly choiceCount: number;
  /** Ids for function calls Gemini sent without one. */
  readonly generateId: (prefix: string) => string;
  /** Scrubbed from upstream error messages. */
  readonly apiKey: string | undefined;
}

interface CandidateState {
  /** Function calls seen so far: the next tool-call index, and what turns STOP into tool_calls. */
  toolCalls: number;
  finished: boolean;
}

interface StreamState {
  started: boolean;
  readonly candidates: Map<number, CandidateState>;
  /** The last usageMetadata seen (Gemini repeats it cumulatively on many chunks). */
  usage: Usage | undefined;
  /** promptFeedback.blockReason of a prompt refused before any candidate. */
  blockReason: string | undefined;
}

/** Converts the event stream; throws ProxyError for error events and protocol violations. */
export async function* convertGeminiStream(
  events: AsyncIterable<SseEvent>,
  options: GeminiStreamOptions,
): AsyncGenerator<ChatChunk> {
  const state: StreamState = {
    started: false,
    candidates: new Map(),
    usage: undefined,
    blockReason: undefined,
  };
  for await (const event of events) {
    const chunk = parseGeminiEvent(event.data, options.apiKey);
    if (chunk === undefined) continue;
    if (!state.started) {
      state.started = true;
      yield responseStart(chunk);
    }
    yield* convertChunk(chunk, state, options);
  }
  yield* finishStream(state, options);
}

/** One event's JSON: a chunk, undefined for an empty event, or a thrown ProxyError. */
function parseGeminiEvent(data: string, apiKey: string | undefined): GeminiChunk | undefined {
  if (data.trim() === "") return undefined;
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch (error) {
    throw new ProxyError("bad_upstream_response", "Gemini sent a stream event that is not valid JSON.", {
      cause: error,
    });
  }
  // An error after the 200 arrives as an event holding the usual Google error envelope.
  if (typeof json === "object" && json !== null && "error" in json) {
    const failure = geminiErrorEnvelopeSchema.safeParse(json);
    if (failure.success) throw mapGeminiErrorPayload(failure.data.error, 200, apiKey);
  }
  const parsed = geminiChunkSchema.safeParse(json);
  if (!parsed.success) {
    throw new ProxyError("bad_upstream_response", "Gemini sent a stream event of an unexpected shape.", {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

function responseStart(chunk: GeminiChunk): ChatChunk {
  const start: { type: "response-start"; id?: string; model?: string } = { type: "response-start" };
  if (chunk.responseId != null) start.id = chunk.responseId;
  if (chunk.modelVersion != null) start.model = chunk.modelVersion;
  return start;
}

function* convertChunk(
  chunk: GeminiChunk,
  state: StreamState,
  options: GeminiStreamOptions,
): Generator<ChatChunk> {
  if (chunk.usageMetadata != null) state.usage = convertGeminiUsage(chunk.usageMetadata);
  const candidates = chunk.candidates ?? [];
  const blockReason = chunk.promptFeedback?.blockReason;
  if (candidates.length === 0 && blockReason != null) state.blockReason = blockReason;
  for (const [position, candidate] of candidates.entries()) {
    // `index` is often omitted when there is a single candidate.
    yield* convertCandidate(candidate, candidate.index ?? position, state, options);
  }
}

function* convertCandidate(
  candidate: GeminiCandidate,
  choice: number,
  state: StreamState,
  options: GeminiStreamOptions,
): Generator<ChatChunk> {
  let candidateState = state.candidates.get(choice);
  if (candidateState === undefined) {
    candidateState = { toolCalls: 0, finished: false };
    state.candidates.set(choice, candidateState);
  }
  // Anything after a candidate's finishReason (e.g. a trailing usage-only repeat) adds nothing.
  if (candidateState.finished) return;
  for (const part of candidate.content?.parts ?? [])
    yield* convertPart(part, choice, candidateState, options);
  const finishReason = candidate.finishReason;
  if (finishReason == null) return;
  candidateState.finished = true;
  const reason = mapGeminiFinishReason(finishReason, candidateState.toolCalls > 0);
  yield { type: "finish", choice, reason, rawReason: finishReason };
}

function* convertPart(
  part: GeminiPart,
  choice: number,
  candidateState: CandidateState,
  options: GeminiStreamOptions,
): Generator<ChatChunk> {
  const call = part.functionCall;
  if (call != null) {
    // Gemini sends a call whole, so start, arguments and end come together; ids are often absent.
    const index = candidateState.toolCalls++;
    const id = call.id == null || call.id === "" ? options.generateId("call") : call.id;
    const signature = part.thoughtSignature;
    yield signature
      ? { type: "tool-call-start", choice, index, id, name: call.name, signature }
      : { type: "tool-call-start", choice, index, id, name: call.name };
    yield { type: "tool-call-delta", choice, index, arguments: JSON.stringify(call.args ?? {}) };
    yield { type: "tool-call-end", choice, index };
    return;
  }
  if (part.thoughtSignature) yield { type: "reasoning-state", choice, textSignature: part.thoughtSignature };
  // Empty text parts are common (e.g. the last one carrying only a thoughtSignature).
  if (part.text == null || part.text === "") return;
  yield part.thought === true
    ? { type: "reasoning-delta", choice, text: part.text }
    : { type: "text-delta", choice, text: part.text };
}

function* finishStream(state: StreamState, options: GeminiStreamOptions): Generator<ChatChunk> {
  if (!state.started) {
    throw new ProxyError("bad_upstream_response", "Gemini ended the stream without sending any event.");
  }
  if (state.candidates.size === 0 && state.blockReason !== undefined) {
    // The prompt itself was refused: every requested choice ends filtered, with the block reason as raw value.
    for (let choice = 0; choice < options.choiceCount; choice++) {
      yield { type: "finish", choice, reason: "content_filter", rawReason: state.blockReason };
    }
  } else if (state.candidates.size === 0 || [...state.candidates.values()].some((entry) => !entry.finished)) {
    throw new ProxyError("bad_upstream_response", "Gemini ended the stream without a finishReason.");
  }
  if (state.usage !== undefined) yield { type: "usage", usage: state.usage };
}

/**
 * usageMetadata → canonical usage. `candidatesTokenCount` excludes thinking, so thoughts are added into
 * completion tokens (and reported as reasoning tokens); tool-use prompt tokens (e.g. search results) count as
 * prompt tokens; cached tokens are already inside promptTokenCount. Gemini's own total is kept when present.
 * @see https://ai.google.dev/api/generate-content#UsageMetadata
 */
export function convertGeminiUsage(metadata: GeminiUsageMetadata): Usage {
  const promptTokens = (metadata.promptTokenCount ?? 0) + (metadata.toolUsePromptTokenCount ?? 0);
  const thoughts = metadata.thoughtsTokenCount;
  const completionTokens = (metadata.candidatesTokenCount ?? 0) + (thoughts ?? 0);
  const usage: { -readonly [K in keyof Usage]: Usage[K] } = {
    promptTokens,
    completionTokens,
    totalTokens: metadata.totalTokenCount ?? promptTokens + completionTokens,
  };
  if (metadata.cachedContentTokenCount != null) usage.cachedTokens = metadata.cachedContentTokenCount;
  if (thoughts != null) usage.reasoningTokens = thoughts;
  return usage;
}
