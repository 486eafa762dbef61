/**
 * The sealed reasoning carrier of one streamed turn, for edges whose carrier is an output piece of its own: the
 * Responses `reasoning` item's `encrypted_content` and the Messages `thinking` block's `signature` (issue 24).
 * Those pieces come first in the turn, but some state arrives only with what follows (Gemini signs its first
 * function call, or the text part that follows its thoughts), so an edge seals when the reasoning piece closes,
 * which is when the next kind of output starts, after that output's own chunk was added here. State arriving
 * after that (a later thinking block, a signature on the turn's last part) is `pending`: the edge writes one more
 * carrier, holding the whole state again, so a client returning every piece gives the latest carrier last.
 */
import type { ChatStream } from "../core/chat-stream.ts";
import type { ReasoningSeal } from "../core/reasoning-seal.ts";
import { ReasoningStateBuilder } from "../core/reasoning-state.ts";
import type { ChatChunk } from "../core/types.ts";

export class TurnCarrier {
  readonly #seal: ReasoningSeal;
  readonly #stream: Pick<ChatStream, "served">;
  readonly #builder = new ReasoningStateBuilder();
  #pieces = 0;
  #sealedPieces = 0;

  constructor(stream: Pick<ChatStream, "served">, seal: ReasoningSeal) {
    this.#stream = stream;
    this.#seal = seal;
  }

  /** Takes a chunk's part of the state (reasoning-state, or a tool-call-start with a signature). */
  add(chunk: ChatChunk): void {
    if (
      chunk.type === "reasoning-state" ||
      (chunk.type === "tool-call-start" && chunk.signature !== undefined)
    ) {
      this.#builder.add(chunk);
      this.#pieces++;
    }
  }

  /** Whether state came that no carrier written so far holds. */
  get pending(): boolean {
    return this.#pieces > this.#sealedPieces;
  }

  /** The whole state so far, sealed; undefined when none came since the last carrier. */
  sealPending(): string | undefined {
    if (!this.pending) return undefined;
    this.#sealedPieces = this.#pieces;
    // Read at sealing time: the attempt that served the stream is settled once chunks flow.
    const { provider, upstreamModel } = this.#stream.served;
    const state = this.#builder.build({ provider, model: upstreamModel });
    return state === undefined ? undefined : this.#seal.seal(state);
  }
}
