/**
 * The content the mock vendor answers with (../mock-upstream.ts), shared with the in-process core benchmark
 * (../core-only.ts) so that both see the same bytes.
 */

/** The `index`-th content token of an answer. */
export function token(index: number): string {
  return `tok${index} `;
}

/** A non-streaming OpenAI chat completion of `chunks` tokens. */
export function jsonCompletion(model: string, chunks: number, created: number): object {
  let content = "";
  for (let i = 0; i < chunks; i++) content += token(i);
  return {
    id: "chatcmpl-bench",
    object: "chat.completion",
    created,
    model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 10, completion_tokens: chunks, total_tokens: 10 + chunks },
  };
}
