/**
 * The built-in `echo` provider: streams the last user message back word by word, with a configurable delay
 * per token. Needs no key and no network, so the example config runs anywhere and load tests measure the
 * gateway alone.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ProviderConfig } from "../../config/config.ts";
import type { ChatChunk, ChatMessage, ChatRequest } from "../../core/types.ts";
import type { CallContext, ProviderAdapter } from "../types.ts";
import { embedEcho } from "./embeddings.ts";

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
  const tokens = tokenize(lastUserText(request.messages));
  const limit = request.maxCompletionTokens ?? request.maxTokens ?? Number.POSITIVE_INFINITY;
  const emitted = tokens.slice(0, limit);
  const choices = request.n ?? 1;
  yield { type: "response-start", id: context.generateId("chatcmpl"), model: context.upstreamModel };
  for (const [position, token] of emitted.entries()) {
    if (delayMs > 0 && position > 0) await sleep(delayMs, undefined, { signal: context.signal });
    context.signal.throwIfAborted();
    for (let choice = 0; choice < choices; choice++) yield { type: "text-delta", choice, text: token };
  }
  const reason = emitted.length < tokens.length ? "length" : "stop";
  for (let choice = 0; choice < choices; choice++)
    yield { type: "finish", choice, reason, rawReason: reason };
  const promptTokens = request.messages.reduce(
    (sum, message) => sum + tokenize(messageText(message)).length,
    0,
  );
  const completionTokens = emitted.length * choices;
  yield {
    type: "usage",
    usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
  };
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
