/**
 * Embeddings on Gemini: POST `{base}/models/{model}:batchEmbedContents`, one request per input (text only), with
 * `dimensions` as `outputDimensionality`. The API takes at most 100 requests per batch, so larger inputs are
 * split (a provider's `max_embedding_batch` sets a smaller cap) and the vectors joined back in input order.
 * Gemini reports no token usage for embeddings.
 * @see https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
 */
import { z } from "zod";
import type { EmbeddingInput, EmbeddingsAnswer, EmbeddingsRequest } from "../../core/embeddings-types.ts";
import { ProxyError } from "../../core/errors.ts";
import { embedInBatches } from "../embedding-batches.ts";
import { postUpstream, type UpstreamErrorMapper } from "../http.ts";
import type { CallContext } from "../types.ts";
import { parseUpstreamJson, readUpstreamAnswer, readUpstreamText } from "../upstream-json.ts";

/** batchEmbedContents refuses more requests than this in one call. */
export const GEMINI_MAX_EMBEDDING_BATCH = 100;

/** What the embeddings call of one Gemini provider is built from. */
export interface GeminiEmbeddingsSetup {
  readonly baseUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly mapError: UpstreamErrorMapper;
  readonly maxBatch: number | undefined;
}

const batchEmbedResponseSchema = z.object({
  embeddings: z.array(z.object({ values: z.array(z.number()) })).nullish(),
});

/** Embeds every input of `request`, in order. */
export function embedGemini(
  setup: GeminiEmbeddingsSetup,
  request: EmbeddingsRequest,
  context: CallContext,
): Promise<EmbeddingsAnswer> {
  const texts = request.inputs.map(textOf);
  const cap = Math.min(setup.maxBatch ?? GEMINI_MAX_EMBEDDING_BATCH, GEMINI_MAX_EMBEDDING_BATCH);
  return embedInBatches(texts, cap, context, (batch, batchContext) =>
    embedBatch(setup, request.dimensions, batch, batchContext),
  );
}

function textOf(input: EmbeddingInput): string {
  if (typeof input === "string") return input;
  throw new ProxyError(
    "invalid_request",
    "Gemini embeds text only: send 'input' as strings, not token ids.",
    { param: "input" },
  );
}

async function embedBatch(
  setup: GeminiEmbeddingsSetup,
  dimensions: number | undefined,
  batch: readonly EmbeddingInput[],
  context: CallContext,
): Promise<EmbeddingsAnswer> {
  const model = modelPath(context.upstreamModel);
  const body = {
    requests: batch.map((text) => ({
      model,
      content: { parts: [{ text }] },
      ...(dimensions === undefined ? {} : { outputDimensionality: dimensions }),
    })),
  };
  const url = `${setup.baseUrl}/${model.split("/").map(encodeURIComponent).join("/")}:batchEmbedContents`;
  const headers = { ...setup.headers, "x-request-id": context.requestId };
  const response = await postUpstream(context, url, headers, JSON.stringify(body), setup.mapError);
  const text = await readUpstreamText(response, context.signal);
  return { vectors: readVectors(text, batch.length) };
}

/** `models/{id}`, unless the id already names its collection (`tunedModels/…`). */
function modelPath(upstreamModel: string): string {
  return upstreamModel.includes("/") ? upstreamModel : `models/${upstreamModel}`;
}

function readVectors(text: string, expected: number): (readonly number[])[] {
  const answer = readUpstreamAnswer(batchEmbedResponseSchema, parseUpstreamJson(text));
  const vectors = (answer.embeddings ?? []).map((embedding) => embedding.values);
  if (vectors.length !== expected) {
    throw new ProxyError(
      "bad_upstream_response",
      `The upstream answered ${vectors.length} embeddings for ${expected} inputs.`,
    );
  }
  return vectors;
}
