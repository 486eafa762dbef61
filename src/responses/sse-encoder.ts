/**
 * Canonical chunks → the Responses stream's events (`event:` + `data:`), each with its `sequence_number`:
 * `response.created` and `response.in_progress` first; per output item its `output_item.added`, its part and
 * delta events and its `output_item.done`; then exactly one terminal event (`response.completed`,
 * `response.incomplete`, or `response.failed` when the upstream fails after the stream started). Items come in
 * the order the upstream produced them: a reasoning item, a message, calls; a new kind of output closes the
 * open item, so every item is done before the terminal event, which carries the whole answer (the official
 * SDK checks it against the items it accumulated). Only the first choice is encoded: Responses has no `n`.
 * Text deltas, the hot path, are written from a prefix built once per content part.
 * When the client asked for `reasoning.encrypted_content`, the reasoning item's `output_item.done` carries the
 * turn's sealed state gathered so far (./../edge/turn-carrier.ts); state with no reasoning item to ride on (no
 * reasoning text, or state that came after the item closed) gets a reasoning item of its own, before the next
 * item or, in a turn that made calls, after the last one.
 */
import type { ChatStream } from "../core/chat-stream.ts";
import type { ProxyError } from "../core/errors.ts";
import type { ReasoningSeal } from "../core/reasoning-seal.ts";
import type { Annotation, ChatChunk, FinishReason, Usage } from "../core/types.ts";
import type { SseCallEncoder } from "../edge/model-call.ts";
import { toHttpError } from "../edge/openai-errors.ts";
import type { BatchEncoder } from "../edge/pump.ts";
import { sseEvent } from "../edge/sse.ts";
import { TurnCarrier } from "../edge/turn-carrier.ts";
import {
  customInput,
  itemId,
  messageItem,
  outputTextPart,
  type ResponseIds,
  type ResponseStatus,
  reasoningItem,
  refusalPart,
  responseIdsOf,
  responseObject,
  statusOf,
  toolCallItem,
  type WireObject,
} from "./response-object.ts";
import type { ResponseEcho } from "./to-canonical.ts";
import { clientToolOf, type ToolPlan } from "./tools.ts";

/** The message item being written, and its open content part. */
interface OpenMessage {
  readonly outputIndex: number;
  readonly id: string;
  readonly parts: WireObject[];
  part?: {
    readonly kind: "text" | "refusal";
    text: string;
    annotations: Annotation[];
    readonly deltaPrefix: string;
  };
}

interface OpenReasoning {
  readonly outputIndex: number;
  readonly id: string;
  text: string;
}

interface OpenCall {
  readonly outputIndex: number;
  readonly callId: string;
  readonly name: string;
  readonly custom: boolean;
  readonly item: WireObject;
  arguments: string;
}

/** Encodes one stream; `opening()`, then `encode(batch)` per batch, then `ending()` or `fail(failure)`. */
export class ResponsesSseEncoder implements SseCallEncoder {
  readonly #ids: ResponseIds;
  readonly #stream: ChatStream;
  readonly #echo: ResponseEcho;
  readonly #plan: ToolPlan;
  #sequence = 0;
  readonly #output: WireObject[] = [];
  #message: OpenMessage | undefined;
  #reasoning: OpenReasoning | undefined;
  readonly #calls = new Map<number, OpenCall>();
  #reason: FinishReason | undefined;
  #usage: Usage | undefined;
  /** Set when the client asked for the reasoning state (`include: ["reasoning.encrypted_content"]`). */
  readonly #carrier: TurnCarrier | undefined;
  #madeCalls = false;

  constructor(stream: ChatStream, echo: ResponseEcho, plan: ToolPlan, seal?: ReasoningSeal) {
    this.#stream = stream;
    this.#ids = responseIdsOf(stream.id);
    this.#echo = echo;
    this.#plan = plan;
    this.#carrier = seal === undefined ? undefined : new TurnCarrier(stream, seal);
  }

  /** `response.created` and `response.in_progress`. */
  opening(): string {
    const response = this.#response("in_progress", []);
    return this.#event("response.created", { response }) + this.#event("response.in_progress", { response });
  }

  /** The events of one batch, or undefined when it writes nothing (bound: the pump calls it unbound). */
  readonly encode: BatchEncoder<string> = (batch) => {
    let events = "";
    for (const chunk of batch) events += this.#chunk(chunk);
    return events === "" ? undefined : events;
  };

  /** Closes what is open and writes the terminal event: completed, or incomplete with its reason. */
  ending(): string {
    const closing = this.#closeAll();
    const { status, incompleteReason } = statusOf(this.#reason);
    const response = this.#response(status, this.#output, incompleteReason);
    return (
      closing +
      this.#event(status === "completed" ? "response.completed" : "response.incomplete", { response })
    );
  }

  /** The terminal `response.failed` carrying the error, after an upstream failure mid-stream. */
  fail(failure: ProxyError): string {
    const error = toHttpError(failure).body.error;
    const response = responseObject({
      ids: this.#ids,
      createdAt: this.#stream.created,
      model: this.#stream.model,
      echo: this.#echo,
      status: "failed",
      output: this.#output,
      error,
    });
    return this.#event("response.failed", { response });
  }

  #chunk(chunk: ChatChunk): string {
    if (chunk.type === "usage") {
      this.#usage = chunk.usage;
      return "";
    }
    if (chunk.type === "response-start" || chunk.choice !== 0) return "";
    // Before the switch: a call's signature must be in the carrier that the call's start closes.
    this.#carrier?.add(chunk);
    switch (chunk.type) {
      case "text-delta":
        return chunk.text === "" ? "" : this.#textDelta("text", chunk.text);
      case "refusal-delta":
        return this.#textDelta("refusal", chunk.text);
      case "annotation-delta":
        if (this.#message?.part?.kind === "text") this.#message.part.annotations.push(...chunk.annotations);
        return "";
      case "reasoning-delta":
        return chunk.text === "" ? "" : this.#reasoningDelta(chunk.text);
      case "tool-call-start":
        return this.#callStart(chunk.index, chunk.id, chunk.name);
      case "tool-call-delta":
        return this.#callDelta(chunk.index, chunk.arguments);
      case "tool-call-end":
        return this.#callEnd(chunk.index);
      case "finish":
        this.#reason = chunk.reason;
        return this.#closeAll();
      case "reasoning-state":
        // Opaque state, taken by the carrier above; never shown as such.
        return "";
    }
  }

  #textDelta(kind: "text" | "refusal", text: string): string {
    let events = "";
    if (this.#message === undefined) {
      events += this.#closeReasoning() + this.#carrierItem();
      const outputIndex = this.#output.length;
      const id = itemId("msg", this.#ids, outputIndex);
      this.#message = { outputIndex, id, parts: [] };
      this.#output.push(messageItem(id, "in_progress", []));
      events += this.#event("response.output_item.added", {
        output_index: outputIndex,
        item: messageItem(id, "in_progress", []),
      });
    }
    const message = this.#message;
    if (message.part?.kind !== kind) {
      events += this.#closePart(message);
      const where = `"item_id":"${message.id}","output_index":${message.outputIndex},"content_index":${message.parts.length}`;
      const type = kind === "text" ? "response.output_text.delta" : "response.refusal.delta";
      message.part = { kind, text: "", annotations: [], deltaPrefix: `{"type":"${type}",${where},"delta":` };
      events += this.#event("response.content_part.added", {
        item_id: message.id,
        output_index: message.outputIndex,
        content_index: message.parts.length,
        part: kind === "text" ? outputTextPart("") : refusalPart(""),
      });
    }
    const part = message.part;
    part.text += text;
    const suffix =
      kind === "text"
        ? `,"logprobs":[],"sequence_number":${this.#sequence++}}`
        : `,"sequence_number":${this.#sequence++}}`;
    return (
      events +
      sseEvent(
        part.deltaPrefix + JSON.stringify(text) + suffix,
        kind === "text" ? "response.output_text.delta" : "response.refusal.delta",
      )
    );
  }

  #closePart(message: OpenMessage): string {
    const part = message.part;
    if (part === undefined) return "";
    message.part = undefined;
    const contentIndex = message.parts.length;
    const where = { item_id: message.id, output_index: message.outputIndex, content_index: contentIndex };
    const done = part.kind === "text" ? outputTextPart(part.text, part.annotations) : refusalPart(part.text);
    message.parts.push(done);
    const textDone =
      part.kind === "text"
        ? this.#event("response.output_text.done", { ...where, text: part.text, logprobs: [] })
        : this.#event("response.refusal.done", { ...where, refusal: part.text });
    return textDone + this.#event("response.content_part.done", { ...where, part: done });
  }

  #closeMessage(): string {
    const message = this.#message;
    if (message === undefined) return "";
    this.#message = undefined;
    const events = this.#closePart(message);
    const item = messageItem(message.id, "completed", message.parts);
    this.#output[message.outputIndex] = item;
    return events + this.#event("response.output_item.done", { output_index: message.outputIndex, item });
  }

  #reasoningDelta(text: string): string {
    let events = "";
    if (this.#reasoning === undefined) {
      events += this.#closeMessage();
      const outputIndex = this.#output.length;
      const id = itemId("rs", this.#ids, outputIndex);
      this.#reasoning = { outputIndex, id, text: "" };
      this.#output.push(reasoningItem(id, ""));
      const where = { item_id: id, output_index: outputIndex, summary_index: 0 };
      events += this.#event("response.output_item.added", {
        output_index: outputIndex,
        item: reasoningItem(id, ""),
      });
      events += this.#event("response.reasoning_summary_part.added", {
        ...where,
        part: { type: "summary_text", text: "" },
      });
    }
    const reasoning = this.#reasoning;
    reasoning.text += text;
    return (
      events +
      this.#event("response.reasoning_summary_text.delta", {
        item_id: reasoning.id,
        output_index: reasoning.outputIndex,
        summary_index: 0,
        delta: text,
      })
    );
  }

  #closeReasoning(): string {
    const reasoning = this.#reasoning;
    if (reasoning === undefined) return "";
    this.#reasoning = undefined;
    const where = { item_id: reasoning.id, output_index: reasoning.outputIndex, summary_index: 0 };
    const item = reasoningItem(reasoning.id, reasoning.text, this.#carrier?.sealPending());
    this.#output[reasoning.outputIndex] = item;
    return (
      this.#event("response.reasoning_summary_text.done", { ...where, text: reasoning.text }) +
      this.#event("response.reasoning_summary_part.done", {
        ...where,
        part: { type: "summary_text", text: reasoning.text },
      }) +
      this.#event("response.output_item.done", { output_index: reasoning.outputIndex, item })
    );
  }

  /** A reasoning item of its own for state no item holds yet (none when there is none). */
  #carrierItem(): string {
    const encrypted = this.#carrier?.sealPending();
    if (encrypted === undefined) return "";
    const outputIndex = this.#output.length;
    const id = itemId("rs", this.#ids, outputIndex);
    const item = reasoningItem(id, "", encrypted);
    this.#output.push(item);
    return (
      this.#event("response.output_item.added", { output_index: outputIndex, item: reasoningItem(id, "") }) +
      this.#event("response.output_item.done", { output_index: outputIndex, item })
    );
  }

  #callStart(index: number, callId: string, name: string): string {
    this.#madeCalls = true;
    const events = this.#closeMessage() + this.#closeReasoning() + this.#carrierItem();
    const outputIndex = this.#output.length;
    const tool = clientToolOf(this.#plan, name);
    const item = toolCallItem(
      this.#ids,
      outputIndex,
      { id: callId, name, arguments: "" },
      this.#plan,
      "in_progress",
    );
    if (tool.custom) item.input = "";
    this.#calls.set(index, { outputIndex, callId, name, custom: tool.custom, item, arguments: "" });
    this.#output.push(item);
    return events + this.#event("response.output_item.added", { output_index: outputIndex, item });
  }

  #callDelta(index: number, delta: string): string {
    const call = this.#calls.get(index);
    if (call === undefined || delta === "") return "";
    call.arguments += delta;
    // A freeform tool's input is the string inside the arguments' JSON: it is written whole when the call ends.
    if (call.custom) return "";
    return this.#event("response.function_call_arguments.delta", {
      item_id: call.item.id,
      output_index: call.outputIndex,
      delta,
    });
  }

  #callEnd(index: number): string {
    const call = this.#calls.get(index);
    if (call === undefined) return "";
    this.#calls.delete(index);
    const item = toolCallItem(
      this.#ids,
      call.outputIndex,
      { id: call.callId, name: call.name, arguments: call.arguments },
      this.#plan,
      "completed",
    );
    this.#output[call.outputIndex] = item;
    const where = { item_id: item.id, output_index: call.outputIndex };
    let events: string;
    if (call.custom) {
      const input = customInput(call.arguments);
      events =
        this.#event("response.custom_tool_call_input.delta", { ...where, delta: input }) +
        this.#event("response.custom_tool_call_input.done", { ...where, input });
    } else {
      events = this.#event("response.function_call_arguments.done", {
        ...where,
        name: item.name,
        arguments: call.arguments,
      });
    }
    return events + this.#event("response.output_item.done", { output_index: call.outputIndex, item });
  }

  #closeAll(): string {
    let events = this.#closeReasoning() + this.#closeMessage();
    for (const index of [...this.#calls.keys()]) events += this.#callEnd(index);
    // State that came after the last item (a signature on Gemini's last part) matters only to a tool loop's next
    // step; a turn that ends in text is followed by the user's next message, and no vendor wants it then.
    return this.#madeCalls ? events + this.#carrierItem() : events;
  }

  #response(
    status: ResponseStatus,
    output: readonly WireObject[],
    incompleteReason?: string | null,
  ): WireObject {
    return responseObject({
      ids: this.#ids,
      createdAt: this.#stream.created,
      model: this.#stream.model,
      echo: this.#echo,
      status,
      output: [...output],
      usage: status === "in_progress" ? undefined : this.#usage,
      incompleteReason,
      serviceTier: this.#stream.serviceTier,
    });
  }

  /** One event; `type` and `sequence_number` lead, as OpenAI writes them. */
  #event(type: string, fields: WireObject): string {
    return sseEvent(JSON.stringify({ type, sequence_number: this.#sequence++, ...fields }), type);
  }
}
