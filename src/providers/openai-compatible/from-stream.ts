/**
 * OpenAI chat-completion SSE events → canonical chunks. Each `data:` is parsed once: JSON.parse, then the
 * common shapes pass a hand-written check (./fast-chunk.ts) and the rest the minimal zod schema; `[DONE]` ends
 * the content. Per choice a small typed state tracks its tool calls: a call starts once its id and name are
 * known, its argument fragments follow as deltas, and every call ends when the choice finishes (with a "{}"
 * delta if no argument text ever came). Protocol violations throw bad_upstream_response; `{"error": …}` events
 * throw the mapped kind.
 *
 * The reader is synchronous: the adapter hands it every event of one network read and gets the chunks back in
 * one array, so a read costs one promise however many events it carries.
 * @see https://platform.openai.com/docs/api-reference/chat/streaming
 * @see docs/wire-formats.md#openai-streaming-sse
 * @see docs/wire-formats.md#openai-compatible-vendors
 */
import type { FastifyBaseLogger } from "fastify";
import { ProxyError } from "../../core/errors.ts";
import type { ChatChunk } from "../../core/types.ts";
import type { SseEvent } from "../sse.ts";
import { pushAnnotations, pushWithLogprobs } from "./choice-extras.ts";
import { mapOpenAICompatibleStreamError } from "./error-map.ts";
import { readCommonChunk } from "./fast-chunk.ts";
import { mapOpenAICompatibleFinishReason } from "./finish-reason.ts";
import type { OpenAICompatibleQuirks } from "./quirks.ts";
import { convertOpenAICompatibleUsage } from "./usage.ts";
import {
  type OpenAIChunk,
  type OpenAIChunkChoice,
  type OpenAIToolCallDelta,
  openAIChunkSchema,
} from "./wire.ts";

/** What the readers need besides the bytes. */
export interface OpenAICompatibleReaderOptions {
  readonly quirks: OpenAICompatibleQuirks;
  /** The provider's key, scrubbed from upstream error messages. */
  readonly apiKey: string | undefined;
  /** Ids for tool calls the upstream left unnamed. */
  readonly generateId: (prefix: string) => string;
  readonly log: FastifyBaseLogger;
}

/** One tool call of a choice. `index` is assigned when it starts, so indices follow start order. */
interface ToolCallState {
  index: number;
  id: string | undefined;
  name: string | undefined;
  started: boolean;
  /** Argument text that arrived before the call could start. */
  pendingArguments: string;
  /** Whether any argument text was yielded. */
  sentArguments: boolean;
}

interface ChoiceState {
  /** Upstream tool-call index → the call currently using it. */
  readonly byUpstreamIndex: Map<number, ToolCallState>;
  /** Every call, in order of first appearance. */
  readonly calls: ToolCallState[];
  startedCalls: number;
  producedOutput: boolean;
  finished: boolean;
}

/** Reads one stream's events into canonical chunks. */
export class OpenAICompatibleStreamReader {
  readonly #options: OpenAICompatibleReaderOptions;
  readonly #choices = new Map<number, ChoiceState>();
  #started = false;
  #done = false;

  constructor(options: OpenAICompatibleReaderOptions) {
    this.#options = options;
  }

  /** Whether `[DONE]` came: later events are ignored (the body is still read to its end, keeping the connection). */
  get done(): boolean {
    return this.#done;
  }

  /** Appends the chunks of one event to `out`; throws ProxyError on failures. */
  push(event: SseEvent, out: ChatChunk[]): void {
    if (this.#done) return;
    const data = event.data.trim();
    if (data === "[DONE]") {
      this.#done = true;
      return;
    }
    // Some vendors send empty `data:` lines as keep-alives.
    if (data === "") return;
    const chunk = parseOpenAICompatibleChunk(data);
    if (event.event === "error" && !hasError(chunk)) {
      throw new ProxyError("upstream_error", "The upstream reported an error mid-stream.");
    }
    this.#handleChunk(chunk, out);
  }

  /** The stream ended: a choice with output that never finished means it was cut off, never ended silently. */
  finish(): void {
    let anyFinished = false;
    for (const choice of this.#choices.values()) {
      if (choice.producedOutput && !choice.finished) cutOff();
      if (choice.finished) anyFinished = true;
    }
    if (!anyFinished) cutOff();
  }

  #handleChunk(chunk: OpenAIChunk, out: ChatChunk[]): void {
    // The OpenAI SDK treats any data with a truthy `error` as a failure; so do we.
    const { error } = chunk;
    if (error != null && error !== "") throw mapOpenAICompatibleStreamError(error, this.#options.apiKey);
    if (!this.#started) {
      this.#started = true;
      out.push(responseStart(chunk));
    }
    const choices = chunk.choices;
    if (choices != null) {
      for (const choice of choices) {
        this.#handleChoice(choice, this.#choiceState(choice.index), out);
        if (this.#options.quirks.usageInChoices && choice.usage != null) {
          out.push({ type: "usage", usage: convertOpenAICompatibleUsage(choice.usage) });
        }
      }
    }
    if (chunk.usage != null) out.push({ type: "usage", usage: convertOpenAICompatibleUsage(chunk.usage) });
  }

  #choiceState(index: number): ChoiceState {
    let choice = this.#choices.get(index);
    if (choice === undefined) {
      choice = {
        byUpstreamIndex: new Map(),
        calls: [],
        startedCalls: 0,
        producedOutput: false,
        finished: false,
      };
      this.#choices.set(index, choice);
    }
    return choice;
  }

  #handleChoice(choice: OpenAIChunkChoice, state: ChoiceState, out: ChatChunk[]): void {
    const index = choice.index;
    const delta = choice.delta;
    if (state.finished) {
      // Vendors repeat the final chunk (or add a usage-only one); nothing after a finish is content.
      if (delta?.content || delta?.tool_calls?.length) {
        this.#options.log.debug({ choice: index }, "upstream sent content after finish_reason; ignored");
      }
      return;
    }
    if (delta != null) {
      const reasoning = delta.reasoning_content || delta.reasoning;
      if (reasoning) {
        state.producedOutput = true;
        out.push({ type: "reasoning-delta", choice: index, text: reasoning });
      }
      // Logprobs (rare: only when asked for) ride on the text or refusal piece they came with.
      if (choice.logprobs != null) {
        if (pushWithLogprobs(index, delta, choice.logprobs, out)) state.producedOutput = true;
      } else {
        if (delta.content) {
          state.producedOutput = true;
          out.push({ type: "text-delta", choice: index, text: delta.content });
        }
        if (delta.refusal) {
          state.producedOutput = true;
          out.push({ type: "refusal-delta", choice: index, text: delta.refusal });
        }
      }
      if (delta.annotations != null) pushAnnotations(index, delta.annotations, out);
      const calls = delta.tool_calls;
      if (calls != null)
        for (const fragment of calls) this.#handleToolCallFragment(fragment, state, index, out);
    } else if (choice.logprobs != null) pushWithLogprobs(index, {}, choice.logprobs, out);
    if (choice.finish_reason) this.#finishChoice(state, index, choice.finish_reason, out);
  }

  #handleToolCallFragment(
    fragment: OpenAIToolCallDelta,
    state: ChoiceState,
    choice: number,
    out: ChatChunk[],
  ): void {
    state.producedOutput = true;
    // An empty id or name is no id or name (DashScope repeats `"id":""` on every fragment).
    const id = fragment.id || undefined;
    const name = fragment.function?.name || undefined;
    let call = state.byUpstreamIndex.get(fragment.index);
    if (call === undefined || startsNewCall(call, id, name, this.#options.quirks)) {
      call = { index: -1, id, name, started: false, pendingArguments: "", sentArguments: false };
      state.byUpstreamIndex.set(fragment.index, call);
      state.calls.push(call);
    } else if (!call.started) {
      call.id ??= id;
      call.name ??= name;
    }
    if (!call.started && call.id !== undefined && call.name !== undefined)
      startCall(call, state, choice, out);
    const fragmentArguments = fragment.function?.arguments ?? "";
    if (fragmentArguments === "") return;
    if (!call.started) {
      call.pendingArguments += fragmentArguments;
      return;
    }
    call.sentArguments = true;
    out.push({ type: "tool-call-delta", choice, index: call.index, arguments: fragmentArguments });
  }

  #finishChoice(state: ChoiceState, choice: number, rawReason: string, out: ChatChunk[]): void {
    const mapped = mapOpenAICompatibleFinishReason(rawReason, this.#options.quirks);
    for (const call of state.calls) {
      if (!call.started) {
        if (call.name === undefined) {
          throw new ProxyError("bad_upstream_response", "The upstream streamed a tool call without a name.");
        }
        // Some servers (older Ollama, llama.cpp) never send tool-call ids.
        call.id ??= this.#options.generateId("call_");
        startCall(call, state, choice, out);
      }
      if (!call.sentArguments)
        out.push({ type: "tool-call-delta", choice, index: call.index, arguments: "{}" });
      out.push({ type: "tool-call-end", choice, index: call.index });
    }
    state.finished = true;
    // Some vendors say "stop" after calling tools; clients loop on "tool_calls", so the calls decide.
    const reason = mapped.reason === "stop" && state.calls.length > 0 ? "tool_calls" : mapped.reason;
    out.push({ type: "finish", choice, reason, rawReason: mapped.rawReason });
  }
}

/** The first event's id, model, system_fingerprint and service_tier, those it has. */
function responseStart(chunk: OpenAIChunk): ChatChunk {
  return {
    type: "response-start",
    ...(chunk.id == null ? {} : { id: chunk.id }),
    ...(chunk.model == null ? {} : { model: chunk.model }),
    ...(chunk.system_fingerprint == null ? {} : { systemFingerprint: chunk.system_fingerprint }),
    ...(chunk.service_tier == null ? {} : { serviceTier: chunk.service_tier }),
  };
}

/** Parses one `data:` payload; malformed JSON or an unexpected shape is the upstream's protocol violation. */
export function parseOpenAICompatibleChunk(data: string): OpenAIChunk {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch (error) {
    throw new ProxyError("bad_upstream_response", "The upstream sent an event that is not valid JSON.", {
      cause: error,
    });
  }
  const common = readCommonChunk(json);
  if (common !== undefined) return common;
  const parsed = openAIChunkSchema.safeParse(json);
  if (!parsed.success) {
    throw new ProxyError("bad_upstream_response", "The upstream sent an event of an unexpected shape.", {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

function hasError(chunk: OpenAIChunk): boolean {
  return chunk.error != null && chunk.error !== "";
}

/** A new id *and* a name on an index in use is a new call, unless the vendor repeats headers (DashScope). */
function startsNewCall(
  call: ToolCallState,
  id: string | undefined,
  name: string | undefined,
  quirks: OpenAICompatibleQuirks,
): boolean {
  return (
    !quirks.repeatsToolCallHeaders && call.started && id !== undefined && id !== call.id && name !== undefined
  );
}

function startCall(call: ToolCallState, state: ChoiceState, choice: number, out: ChatChunk[]): void {
  if (call.id === undefined || call.name === undefined) return;
  call.started = true;
  call.index = state.startedCalls;
  state.startedCalls += 1;
  out.push({ type: "tool-call-start", choice, index: call.index, id: call.id, name: call.name });
  if (call.pendingArguments !== "") {
    call.sentArguments = true;
    out.push({ type: "tool-call-delta", choice, index: call.index, arguments: call.pendingArguments });
    call.pendingArguments = "";
  }
}

function cutOff(): never {
  throw new ProxyError("bad_upstream_response", "The upstream stream ended before a finish_reason.");
}
