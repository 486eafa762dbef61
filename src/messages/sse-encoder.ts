/**
 * Canonical chunks → Anthropic's named SSE events: `message_start`, then per content block
 * `content_block_start`, `content_block_delta` (`text_delta`, `thinking_delta`, `signature_delta`,
 * `input_json_delta`), `content_block_stop`, and at the end `message_delta` (stop reason, usage) and
 * `message_stop`; a failure after the start is `event: error`. Only choice 0 exists on this edge.
 * Reasoning state (issue 24): Anthropic's own blocks go out as it sent them (a thinking block ends with its
 * signature; redacted_thinking whole). Another vendor's state is sealed into a thinking block's signature: the open
 * thinking block's when it closes (the next block's chunk, e.g. a Gemini call with its signature, is in it), or a
 * thinking block of its own, empty, before the next block or, in a turn that made tool calls, at the end.
 * @see https://platform.claude.com/docs/en/build-with-claude/streaming
 */
import type { ChatStream } from "../core/chat-stream.ts";
import type { ProxyError } from "../core/errors.ts";
import type { ReasoningSeal } from "../core/reasoning-seal.ts";
import type { ChatChunk, FinishReason, Usage } from "../core/types.ts";
import type { SseCallEncoder } from "../edge/model-call.ts";
import type { Batch, BatchEncoder } from "../edge/pump.ts";
import { sseEvent } from "../edge/sse.ts";
import { TurnCarrier } from "../edge/turn-carrier.ts";
import { type AnthropicErrorBody, toAnthropicError } from "./errors.ts";
import { messageId, stopReasonOf, toAnthropicUsage } from "./from-canonical.ts";
import { toToolUseId } from "./tool-ids.ts";

type OpenKind = "text" | "thinking";

/** The state of one stream's encoding. */
export class MessagesEncoder implements SseCallEncoder {
  readonly #stream: ChatStream;
  #nextIndex = 0;
  /** The open text or thinking block (tool blocks are tracked apart: they close on their own end). */
  #open: { kind: OpenKind; index: number } | undefined;
  readonly #toolBlocks = new Map<number, number>();
  #madeToolCalls = false;
  #finish: { reason: FinishReason; raw: string | null } | undefined;
  #usage: Usage | undefined;
  /** Another vendor's reasoning state, for the thinking blocks' signatures (none without a seal). */
  readonly #carrier: TurnCarrier | undefined;

  constructor(stream: ChatStream, seal?: ReasoningSeal) {
    this.#stream = stream;
    this.#carrier = seal === undefined ? undefined : new TurnCarrier(stream, seal);
  }

  /** `message_start`, written before the first batch. */
  opening(): string {
    const message = {
      id: messageId(this.#stream.id),
      type: "message",
      role: "assistant",
      model: this.#stream.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return sseEvent(JSON.stringify({ type: "message_start", message }), "message_start");
  }

  /** The pump's batch encoder. */
  readonly encode: BatchEncoder<string> = (batch: Batch) => {
    let events = "";
    for (const chunk of batch) events += this.#encodeChunk(chunk);
    return events === "" ? undefined : events;
  };

  /** After a failure mid-stream: Anthropic's `event: error`. */
  fail(failure: ProxyError): string {
    return errorEvent(toAnthropicError(failure).body);
  }

  /** Closes what is open, then `message_delta` and `message_stop`. */
  ending(): string {
    let events = this.#closeOpen();
    for (const index of this.#toolBlocks.values()) events += blockStop(index);
    this.#toolBlocks.clear();
    // State that came after the last block (a signature on Gemini's last part) matters only to a tool loop's next
    // step; a turn that ends in text is followed by the user's next message, and no vendor wants it then (and
    // clients that print the last block, as `claude -p` does, would print an empty thinking block).
    if (this.#madeToolCalls) events += this.#carrierBlock();
    const finish = this.#finish ?? { reason: "stop", raw: null };
    const delta = {
      type: "message_delta",
      delta: {
        stop_reason: stopReasonOf(finish.reason, finish.raw, this.#madeToolCalls),
        stop_sequence: null,
      },
      usage: toAnthropicUsage(this.#usage),
    };
    return (
      events +
      sseEvent(JSON.stringify(delta), "message_delta") +
      sseEvent('{"type":"message_stop"}', "message_stop")
    );
  }

  #encodeChunk(chunk: ChatChunk): string {
    if ("choice" in chunk && chunk.choice !== 0) return "";
    // Before the switch: a call's signature must be in the carrier that the call's start closes. Anthropic's
    // blocks stay out of it: they go to the client as blocks.
    if (chunk.type !== "reasoning-state" || chunk.block === undefined) this.#carrier?.add(chunk);
    switch (chunk.type) {
      case "text-delta":
      case "refusal-delta":
        return chunk.text === "" ? "" : this.#delta("text", { type: "text_delta", text: chunk.text });
      case "reasoning-delta":
        return this.#reasoning(chunk.text, chunk.signature);
      case "tool-call-start":
        return this.#toolStart(chunk.index, chunk.id, chunk.name);
      case "tool-call-delta": {
        const index = this.#toolBlocks.get(chunk.index);
        if (index === undefined || chunk.arguments === "") return "";
        return blockDelta(index, { type: "input_json_delta", partial_json: chunk.arguments });
      }
      case "tool-call-end": {
        const index = this.#toolBlocks.get(chunk.index);
        if (index === undefined) return "";
        this.#toolBlocks.delete(chunk.index);
        return blockStop(index);
      }
      case "finish":
        this.#finish = { reason: chunk.reason, raw: chunk.rawReason };
        return "";
      case "usage":
        this.#usage = chunk.usage;
        return "";
      case "reasoning-state":
        // A thinking block came whole through its deltas; a redacted one only here.
        return chunk.block?.type === "redacted_thinking" ? this.#redacted(chunk.block.data) : "";
      default:
        return "";
    }
  }

  #reasoning(text: string, signature: string | undefined): string {
    let events = text === "" ? "" : this.#delta("thinking", { type: "thinking_delta", thinking: text });
    if (signature !== undefined) {
      // The signature ends its block: a next thinking block is a block of its own, with its own signature.
      events += this.#delta("thinking", { type: "signature_delta", signature }) + this.#closeOpen();
    }
    return events;
  }

  #redacted(data: string): string {
    const index = this.#nextIndex++;
    return (
      this.#closeOpen() +
      sseEvent(
        JSON.stringify({
          type: "content_block_start",
          index,
          content_block: { type: "redacted_thinking", data },
        }),
        "content_block_start",
      ) +
      blockStop(index)
    );
  }

  /** A thinking block of its own for state no block holds yet (nothing when there is none). */
  #carrierBlock(): string {
    const signature = this.#carrier?.sealPending();
    if (signature === undefined) return "";
    const index = this.#nextIndex++;
    const block = { type: "thinking", thinking: "", signature: "" };
    return (
      sseEvent(
        JSON.stringify({ type: "content_block_start", index, content_block: block }),
        "content_block_start",
      ) +
      blockDelta(index, { type: "signature_delta", signature }) +
      blockStop(index)
    );
  }

  /** A delta for the open block of `kind`, opening it (and closing another) first when needed. */
  #delta(kind: OpenKind, delta: object): string {
    let events = "";
    if (this.#open?.kind !== kind) {
      events += this.#closeOpen();
      if (kind === "text") events += this.#carrierBlock();
      const index = this.#nextIndex++;
      this.#open = { kind, index };
      const block =
        kind === "text" ? { type: "text", text: "" } : { type: "thinking", thinking: "", signature: "" };
      events += sseEvent(
        JSON.stringify({ type: "content_block_start", index, content_block: block }),
        "content_block_start",
      );
    }
    return events + blockDelta(this.#open.index, delta);
  }

  #toolStart(toolIndex: number, id: string, name: string): string {
    const events = this.#closeOpen() + this.#carrierBlock();
    const index = this.#nextIndex++;
    this.#toolBlocks.set(toolIndex, index);
    this.#madeToolCalls = true;
    const block = { type: "tool_use", id: toToolUseId(id), name, input: {} };
    return (
      events +
      sseEvent(
        JSON.stringify({ type: "content_block_start", index, content_block: block }),
        "content_block_start",
      )
    );
  }

  /** Closes the open block; a thinking block first gets the sealed state that came so far, if any. */
  #closeOpen(): string {
    const open = this.#open;
    if (open === undefined) return "";
    this.#open = undefined;
    const signature = open.kind === "thinking" ? this.#carrier?.sealPending() : undefined;
    const sealed =
      signature === undefined ? "" : blockDelta(open.index, { type: "signature_delta", signature });
    return sealed + blockStop(open.index);
  }
}

function blockDelta(index: number, delta: object): string {
  return sseEvent(JSON.stringify({ type: "content_block_delta", index, delta }), "content_block_delta");
}

function blockStop(index: number): string {
  return sseEvent(`{"type":"content_block_stop","index":${index}}`, "content_block_stop");
}

/** The `event: error` ending a stream that failed after it started. */
export function errorEvent(body: AnthropicErrorBody): string {
  return sseEvent(JSON.stringify(body), "error");
}
