/**
 * Embeddings over a vendor's cap on inputs per call (`max_embedding_batch`, DashScope's 10, Gemini's 100): the
 * inputs are split into consecutive batches, a few sent at a time, and the vectors joined back in input order.
 * The first batch that fails ends the others (their upstream requests are aborted) and fails the attempt, which
 * the core then retries or falls back as a whole.
 */
import type { EmbeddingInput, EmbeddingsAnswer } from "../core/embeddings-types.ts";
import { ProxyError } from "../core/errors.ts";
import type { CallContext } from "./types.ts";

/** Batches in flight at once for one request: faster than one by one, without flooding a vendor's rate limit. */
const CONCURRENT_BATCHES = 4;

/** Embeds one batch (at most `cap` inputs) with the given context; answers its vectors in the batch's order. */
export type EmbedBatch = (
  batch: readonly EmbeddingInput[],
  context: CallContext,
) => Promise<EmbeddingsAnswer>;

/** All of `inputs`, in order, `cap` (undefined: all) per upstream call. */
export async function embedInBatches(
  inputs: readonly EmbeddingInput[],
  cap: number | undefined,
  context: CallContext,
  embedBatch: EmbedBatch,
): Promise<EmbeddingsAnswer> {
  if (cap === undefined || inputs.length <= cap)
    return checked(inputs.length, await embedBatch(inputs, context));
  const batches: (readonly EmbeddingInput[])[] = [];
  for (let start = 0; start < inputs.length; start += cap) batches.push(inputs.slice(start, start + cap));
  const stop = new AbortController();
  const batchContext: CallContext = { ...context, signal: AbortSignal.any([context.signal, stop.signal]) };
  const answers: EmbeddingsAnswer[] = new Array(batches.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length && !batchContext.signal.aborted) {
      const position = next++;
      const batch = batches[position] ?? [];
      answers[position] = checked(batch.length, await embedBatch(batch, batchContext));
    }
  };
  const workers = Array.from({ length: Math.min(CONCURRENT_BATCHES, batches.length) }, () =>
    worker().catch((error: unknown) => {
      stop.abort(error);
      throw error;
    }),
  );
  // allSettled first: no batch may still be running (or fail unobserved) once the attempt has failed.
  const outcomes = await Promise.allSettled(workers);
  const failed = outcomes.find((outcome) => outcome.status === "rejected");
  if (failed !== undefined) throw firstFailure(stop.signal, failed.reason);
  context.signal.throwIfAborted();
  return joinAnswers(answers);
}

function joinAnswers(answers: readonly EmbeddingsAnswer[]): EmbeddingsAnswer {
  const vectors = answers.flatMap((answer) => answer.vectors);
  if (answers.some((answer) => answer.usage === undefined)) return { vectors };
  let promptTokens = 0;
  let totalTokens = 0;
  for (const answer of answers) {
    promptTokens += answer.usage?.promptTokens ?? 0;
    totalTokens += answer.usage?.totalTokens ?? 0;
  }
  return { vectors, usage: { promptTokens, totalTokens } };
}

/** The batch that failed first, not a sibling that was aborted because of it. */
function firstFailure(stop: AbortSignal, fallback: unknown): unknown {
  return stop.aborted ? stop.reason : fallback;
}

function checked(expected: number, answer: EmbeddingsAnswer): EmbeddingsAnswer {
  if (answer.vectors.length !== expected) {
    throw new ProxyError(
      "bad_upstream_response",
      `The upstream answered ${answer.vectors.length} embeddings for ${expected} inputs.`,
    );
  }
  return answer;
}
