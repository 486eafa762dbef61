/**
 * The reasoning carriers of the Chat Completions and gRPC edges (DESIGN: issue 24). A turn's reasoning state goes
 * to the client sealed, in two places the client already returns:
 * - the assistant message's `reasoning_state` extension field (the whole state), which clients that send the
 *   message back as received (`messages.push(completion.choices[0].message)`) return unchanged;
 * - the tool call `id`, for state the vendor ties to one call (Gemini's thoughtSignature): `<vendor id>__<carrier>`,
 *   only while the whole id stays within MAX_TOOL_CALL_ID_CHARS, for clients that rebuild messages from their typed
 *   fields (they always keep ids, to pair results with calls).
 * Incoming ids lose the carrier before the vendor sees them (tool results' tool_call_id too). A carrier that does
 * not open is ignored with one warning per request, never its content.
 */
import type { FastifyBaseLogger } from "fastify";
import type { ChatStream } from "../core/chat-stream.ts";
import type { ReasoningSeal } from "../core/reasoning-seal.ts";
import { ReasoningStateBuilder } from "../core/reasoning-state.ts";
import type { ChatChunk, ReasoningOrigin, ReasoningState, ToolCall } from "../core/types.ts";

/** Longest tool call id the gateway hands out with a carrier inside; a longer one goes without it. */
export const MAX_TOOL_CALL_ID_CHARS = 1024;
/** Between the vendor's id and the carrier. */
const ID_SEPARATOR = "__";
/** The separator and a carrier's version prefix: how a carrier-bearing id is recognised. */
const ID_MARKER = `${ID_SEPARATOR}r1-`;

/** The whole turn's state for the message's extension field. */
export function sealTurn(seal: ReasoningSeal, state: ReasoningState): string {
  return seal.seal(state);
}

/** The id a client sees: the vendor's, plus the call's sealed signature when it has one and it fits. */
export function carrierToolCallId(
  seal: ReasoningSeal,
  origin: ReasoningOrigin,
  id: string,
  signature: string | undefined,
): string {
  if (signature === undefined) return id;
  const withCarrier = `${id}${ID_SEPARATOR}${seal.seal({ origin, toolSignatures: { [id]: signature } })}`;
  return withCarrier.length <= MAX_TOOL_CALL_ID_CHARS ? withCarrier : id;
}

/** What opens the gateway's carriers in one request: the reader (it warns once) and the seal that knows their shape. */
export interface RequestCarriers {
  readonly reader: CarrierReader;
  readonly seal: ReasoningSeal;
}

/** The carriers of one request; undefined when no reasoning key is configured (carriers are then not opened). */
export function requestCarriers(
  seal: ReasoningSeal | undefined,
  log: FastifyBaseLogger,
): RequestCarriers | undefined {
  return seal === undefined ? undefined : { reader: new CarrierReader(seal, log), seal };
}

/** Opens the carriers of one request; warns once if any is ignored. */
export class CarrierReader {
  readonly #seal: ReasoningSeal;
  readonly #log: FastifyBaseLogger;
  #warned = false;

  constructor(seal: ReasoningSeal, log: FastifyBaseLogger) {
    this.#seal = seal;
    this.#log = log;
  }

  /** A message-level carrier's state; undefined (with the warning) when it does not open. */
  open(carrier: string): ReasoningState | undefined {
    const state = this.#seal.open(carrier);
    if (state === undefined) this.#warn();
    return state;
  }

  /** An assistant's tool call id: the vendor's id without any carrier, and the call's state when it opens. */
  toolCallId(id: string): { readonly id: string; readonly state?: ReasoningState } {
    const at = carrierAt(this.#seal, id);
    if (at === undefined) return { id };
    const state = this.open(id.slice(at + ID_SEPARATOR.length));
    return state === undefined ? { id: id.slice(0, at) } : { id: id.slice(0, at), state };
  }

  /** A tool result's tool_call_id: the vendor's id (the state came with the assistant's call). */
  vendorId(id: string): string {
    const at = carrierAt(this.#seal, id);
    return at === undefined ? id : id.slice(0, at);
  }

  #warn(): void {
    if (this.#warned) return;
    this.#warned = true;
    // Never the carrier itself: it is the vendor's reasoning, sealed or not.
    this.#log.warn(
      { reasoningCarrier: "ignored" },
      "a reasoning carrier from the client did not open (altered, or sealed by another gateway or a retired key); the turn goes on without that reasoning state",
    );
  }
}

/** Where the separator before a carrier starts in an id, if it holds one. */
function carrierAt(seal: ReasoningSeal, id: string): number | undefined {
  const at = id.lastIndexOf(ID_MARKER);
  return at > 0 && seal.looksSealed(id.slice(at + ID_SEPARATOR.length)) ? at : undefined;
}

/**
 * An assistant message's carriers opened: its tool calls with the vendor's ids, and its reasoning state from its
 * `reasoning_state` field and its ids. Without a reader (a core without a seal) the message stays as it came.
 */
export function openAssistantCarriers(
  carriers: CarrierReader | undefined,
  toolCalls: readonly ToolCall[] | undefined,
  field: string | undefined,
): { readonly toolCalls: readonly ToolCall[] | undefined; readonly reasoningState?: ReasoningState } {
  if (carriers === undefined) return { toolCalls };
  const fromIds: ReasoningState[] = [];
  const calls = toolCalls?.map((call) => {
    const carried = carriers.toolCallId(call.id);
    if (carried.state !== undefined) fromIds.push(carried.state);
    return carried.id === call.id ? call : { ...call, id: carried.id };
  });
  const reasoningState = mergeTurnState(field ? carriers.open(field) : undefined, fromIds);
  return reasoningState === undefined ? { toolCalls: calls } : { toolCalls: calls, reasoningState };
}

/**
 * One assistant message's state from its own field and its tool calls' ids: the field wins; ids add the calls
 * it lacks (a client that dropped the field). States of another origin than the field's are left out.
 */
export function mergeTurnState(
  field: ReasoningState | undefined,
  fromIds: readonly ReasoningState[],
): ReasoningState | undefined {
  const origin = field?.origin ?? fromIds[0]?.origin;
  if (origin === undefined) return undefined;
  const toolSignatures: Record<string, string> = {};
  for (const state of fromIds) {
    if (state.origin.provider !== origin.provider || state.origin.model !== origin.model) continue;
    Object.assign(toolSignatures, state.toolSignatures);
  }
  Object.assign(toolSignatures, field?.toolSignatures);
  const merged: { -readonly [K in keyof ReasoningState]: ReasoningState[K] } = { ...field, origin };
  if (Object.keys(toolSignatures).length > 0) merged.toolSignatures = toolSignatures;
  return merged;
}

/** One stream's reasoning state per choice, sealed into its tool call ids and, at the choice's finish, whole. */
export class StreamReasoning {
  readonly #seal: ReasoningSeal;
  readonly #origin: ReasoningOrigin;
  readonly #choices = new Map<number, ReasoningStateBuilder>();

  constructor(stream: Pick<ChatStream, "served">, seal: ReasoningSeal) {
    this.#seal = seal;
    this.#origin = { provider: stream.served.provider, model: stream.served.upstreamModel };
  }

  /** Takes a reasoning-state or tool-call-start chunk. */
  add(chunk: ChatChunk & { readonly choice: number }): void {
    let builder = this.#choices.get(chunk.choice);
    if (builder === undefined) {
      builder = new ReasoningStateBuilder();
      this.#choices.set(chunk.choice, builder);
    }
    builder.add(chunk);
  }

  /** The id to show for a call (with its signature's carrier when it has one that fits). */
  toolCallId(id: string, signature: string | undefined): string {
    return carrierToolCallId(this.#seal, this.#origin, id, signature);
  }

  /** The choice's whole state, sealed; undefined when it has none. */
  finish(choice: number): string | undefined {
    const state = this.#choices.get(choice)?.build(this.#origin);
    return state === undefined ? undefined : sealTurn(this.#seal, state);
  }
}
