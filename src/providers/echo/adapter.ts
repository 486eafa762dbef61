/**
 * The built-in `echo` provider: streams the last user message back word by word, with a configurable delay
 * per token. Needs no key and no network, so the example config runs anywhere and load tests measure the
 * gateway alone. With tools it calls one, and answers a tool result with text (./tool-call.ts).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ProviderConfig } from "../../config/config.ts";
import type { ChatChunk, ChatMessage, ChatRequest } from "../../core/types.ts";
import type { CallContext, ProviderAdapter } from "../types.ts";
import { embedEcho } from "./embeddings.ts";
import { type EchoToolCall, echoToolCall, toolResultSummary } from "./tool-call.ts";

/** A word with its trailing whitespace: joining the tokens gives back the text exactly. */
const TOKEN_PATTERN = /\S+\s*|\s+/g;

/** Creates the echo adapter. */
export function createEchoAdapter(config: ProviderConfig): ProviderAdapter {
  return {
    name: config.name,
    type: "echo",
    stream: (request, context) => streamEcho(request, context, config.tokenDelayMs),
    embed: embedEcho,
  };
}

async function* streamEcho(
  request: ChatRequest,
  context: CallContext,
  delayMs: number,
): AsyncGenerator<ChatChunk> {
  yield { type: "response-start", id: context.generateId("chatcmpl"), model: context.upstreamModel };
  const call = echoToolCall(request);
  const completionTokens =
    call === undefined
      ? yield* streamText(request, context, delayMs)
      : yield* streamToolCall(call, request.n ?? 1, context);
  const promptTokens = request.messages.reduce(
    (sum, message) => sum + tokenize(messageText(message)).length,
    0,
  );
  yield {
    type: "usage",
    usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
  };
}

/** The last user message (or the summary of trailing tool results) word by word; returns the tokens sent. */
async function* streamText(
  request: ChatRequest,
  context: CallContext,
  delayMs: number,
): AsyncGenerator<ChatChunk, number> {
  const text = toolResultSummary(request.messages, messageText) ?? lastUserText(request.messages);
  const tokens = tokenize(text);
  const limit = request.maxCompletionTokens ?? request.maxTokens ?? Number.POSITIVE_INFINITY;
  const emitted = tokens.slice(0, limit);
  const choices = request.n ?? 1;
  for (const [position, token] of emitted.entries()) {
    if (delayMs > 0 && position > 0) await sleep(delayMs, undefined, { signal: context.signal });
    context.signal.throwIfAborted();
    for (let choice = 0; choice < choices; choice++) yield { type: "text-delta", choice, text: token };
  }
  const reason = emitted.length < tokens.length ? "length" : "stop";
  for (let choice = 0; choice < choices; choice++)
    yield { type: "finish", choice, reason, rawReason: reason };
  return emitted.length * choices;
}

/** One call in each choice, its arguments in one delta; returns the tokens sent. */
function* streamToolCall(
  call: EchoToolCall,
  choices: number,
  context: CallContext,
): Generator<ChatChunk, number> {
  context.signal.throwIfAborted();
  for (let choice = 0; choice < choices; choice++) {
    yield { type: "tool-call-start", choice, index: 0, id: context.generateId("call"), name: call.name };
    yield { type: "tool-call-delta", choice, index: 0, arguments: call.arguments };
    yield { type: "tool-call-end", choice, index: 0 };
    yield { type: "finish", choice, reason: "tool_calls", rawReason: "tool_calls" };
  }
  return tokenize(`${call.name} ${call.arguments}`).length * choices;
}

function lastUserText(messages: readonly ChatMessage[]): string {
  for (let position = messages.length - 1; position >= 0; position--) {
    const message = messages[position];
    if (message?.role === "user") return messageText(message);
  }
  return "";
}

function messageText(message: ChatMessage): string {
  if (message.content === null) return "";
  if (typeof message.content === "string") return message.content;
  return message.content.map((part) => (part.type === "text" ? part.text : "")).join("");
}

function tokenize(text: string): string[] {
  return text.match(TOKEN_PATTERN) ?? [];
}
