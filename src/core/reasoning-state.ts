/**
 * Reasoning state across the turns of a tool loop: gathered from a stream's chunks, and filtered per attempt
 * so that state from one vendor is never sent to another (a fallback or a model switch simply goes without it).
 */
import type {
  ChatChunk,
  ChatMessage,
  ChatRequest,
  ReasoningBlock,
  ReasoningOrigin,
  ReasoningState,
} from "./types.ts";

/** Collects one choice's reasoning-state pieces as they stream. */
export class ReasoningStateBuilder {
  readonly #blocks: ReasoningBlock[] = [];
  #textSignature: string | undefined;
  readonly #toolSignatures: Record<string, string> = {};
  #empty = true;

  /** Takes what a chunk adds to the state; other chunks are ignored. */
  add(chunk: ChatChunk): void {
    if (chunk.type === "reasoning-state") {
      if (chunk.block !== undefined) this.#blocks.push(chunk.block);
      // Gemini signs the turn's first text part; later ones (if any) are not needed back.
      if (chunk.textSignature !== undefined) this.#textSignature ??= chunk.textSignature;
      this.#empty = false;
    } else if (chunk.type === "tool-call-start" && chunk.signature !== undefined) {
      this.#toolSignatures[chunk.id] = chunk.signature;
      this.#empty = false;
    }
  }

  /** The state gathered so far, tagged with who served it; undefined when there is none. */
  build(origin: ReasoningOrigin): ReasoningState | undefined {
    if (this.#empty) return undefined;
    const state: { -readonly [K in keyof ReasoningState]: ReasoningState[K] } = { origin };
    if (this.#blocks.length > 0) state.blocks = [...this.#blocks];
    if (this.#textSignature !== undefined) state.textSignature = this.#textSignature;
    if (Object.keys(this.#toolSignatures).length > 0) state.toolSignatures = { ...this.#toolSignatures };
    return state;
  }
}

/** Whether a state was produced by this provider and model. */
export function isFrom(state: ReasoningState, origin: ReasoningOrigin): boolean {
  return state.origin.provider === origin.provider && state.origin.model === origin.model;
}

/**
 * The request as one attempt may send it: reasoning state from any other provider or model is dropped (the
 * request is returned as is when nothing is dropped, so the common case costs one scan).
 */
export function withOwnReasoningOnly(request: ChatRequest, origin: ReasoningOrigin): ChatRequest {
  if (!request.messages.some((message) => isForeign(message, origin))) return request;
  return {
    ...request,
    messages: request.messages.map((message) =>
      isForeign(message, origin) ? withoutState(message) : message,
    ),
  };
}

function isForeign(message: ChatMessage, origin: ReasoningOrigin): boolean {
  return message.reasoningState !== undefined && !isFrom(message.reasoningState, origin);
}

function withoutState(message: ChatMessage): ChatMessage {
  const { reasoningState: _dropped, ...rest } = message;
  return rest;
}
