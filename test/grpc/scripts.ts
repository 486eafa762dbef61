/** Scripted core behaviours and the requests the edge tests send, shared by the client test files. */
import { ProxyError } from "../../src/core/errors.ts";
import type { ChatChunk, ChatResult } from "../../src/core/types.ts";
import type { FakeScript } from "./fake-core.ts";

/** A text answer followed by one tool call whose arguments come in two pieces, then usage. */
export const TOOL_STREAM: readonly ChatChunk[] = [
  { type: "text-delta", choice: 0, text: "Let me check" },
  { type: "tool-call-start", choice: 0, index: 0, id: "call_1", name: "get_weather" },
  { type: "tool-call-delta", choice: 0, index: 0, arguments: '{"city":' },
  { type: "tool-call-delta", choice: 0, index: 0, arguments: '"Paris"}' },
  { type: "tool-call-end", choice: 0, index: 0 },
  { type: "finish", choice: 0, reason: "tool_calls", rawReason: "tool_calls" },
  { type: "usage", usage: { promptTokens: 12, completionTokens: 7, totalTokens: 19, cachedTokens: 2 } },
];

export const RESULT: ChatResult = {
  id: "chatcmpl-unary",
  model: "gpt-test",
  created: 1_700_000_001,
  choices: [
    {
      index: 0,
      content: "Hello there",
      toolCalls: [{ id: "call_9", name: "lookup", arguments: '{"q":"x"}' }],
      finishReason: "other",
      rawFinishReason: "end_turn",
    },
  ],
  usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
};

/** The default behaviour: answer, no failures. */
export const HAPPY: FakeScript = { chunks: TOOL_STREAM, result: RESULT };

/** Many slow chunks, so a client can cancel or time out in the middle. */
export const SLOW: FakeScript = {
  chunks: Array.from(
    { length: 40 },
    (_, index): ChatChunk => ({ type: "text-delta", choice: 0, text: `t${index} ` }),
  ),
  result: RESULT,
  delayMs: 50,
};

export const RATE_LIMITED = new ProxyError("rate_limited", "Rate limited by the upstream provider.", {
  cause: new Error("secret upstream detail"),
});
export const UPSTREAM_5XX = new ProxyError("upstream_error", "The upstream provider failed.");

/** A request that exercises the common fields (JSON-shaped for the clients that speak JSON/proto3 JSON). */
export const REQUEST_JSON = {
  model: "gpt-test",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Weather in Paris?" },
  ],
  temperature: 0.5,
  max_tokens: 64,
  stream_options: { include_usage: true },
} as const;

/** Resolves with `promise`, or rejects after `ms` so a missing event fails fast instead of at the test timeout. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
