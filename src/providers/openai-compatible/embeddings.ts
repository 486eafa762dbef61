/**
 * Embeddings on OpenAI-compatible vendors: POST `{base}/embeddings`, split by the provider's
 * `max_embedding_batch` (src/providers/embedding-batches.ts). Floats are always asked for upstream: every
 * compatible vendor speaks them, not all speak base64; an answer in base64 anyway is decoded.
 * @see https://platform.openai.com/docs/api-reference/embeddings/create
 */
import { z } from "zod";
import type { ProviderConfig } from "../../config/config.ts";
import type { EmbeddingInput, EmbeddingsAnswer, EmbeddingsRequest } from "../../core/embeddings-types.ts";
import { ProxyError } from "../../core/errors.ts";
import { mergeExtraBody } from "../../core/extra-body.ts";
import { fromFloat32Base64 } from "../../core/float32-base64.ts";
import { postWithKeyOrBearer } from "../bearer-post.ts";
import { embedInBatches } from "../embedding-batches.ts";
import type { UpstreamErrorMapper } from "../http.ts";
import type { BearerSource } from "../qianfan/iam-token.ts";
import type { CallContext } from "../types.ts";
import { parseUpstreamJson, readUpstreamAnswer, readUpstreamText } from "../upstream-json.ts";
import { mapOpenAICompatibleStreamError } from "./error-map.ts";
import { openAIErrorSchema } from "./wire.ts";

/** What the embeddings call of one provider is built from. */
export interface EmbeddingsSetup {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly apiKey: string | undefined;
  readonly mapError: UpstreamErrorMapper;
  readonly maxBatch: number | undefined;
  /** Minted bearer tokens instead of a fixed key (Qianfan with an access key), as for chat. */
  readonly bearer?: BearerSource;
}

/** The setup of a provider, from its config and the chat call's static headers. */
export function embeddingsSetup(
  config: ProviderConfig,
  headers: Readonly<Record<string, string>>,
  apiKey: string | undefined,
  mapError: UpstreamErrorMapper,
  bearer?: BearerSource,
): EmbeddingsSetup {
  return {
    url: `${config.baseUrl}/embeddings`,
    headers: { ...headers, accept: "application/json" },
    apiKey,
    mapError,
    maxBatch: config.maxEmbeddingBatch,
    bearer,
  };
}

const embeddingsResponseSchema = z.object({
  data: z
    .array(
      z.object({ index: z.number().int().nullish(), embedding: z.union([z.array(z.number()), z.string()]) }),
    )
    .nullish(),
  usage: z.object({ prompt_tokens: z.number().nullish(), total_tokens: z.number().nullish() }).nullish(),
  error: openAIErrorSchema.nullish(),
});

/** Embeds every input of `request`, in order. */
export function embedOpenAICompatible(
  setup: EmbeddingsSetup,
  request: EmbeddingsRequest,
  context: CallContext,
): Promise<EmbeddingsAnswer> {
  return embedInBatches(request.inputs, setup.maxBatch, context, (batch, batchContext) =>
    embedBatch(setup, request, batch, batchContext),
  );
}

async function embedBatch(
  setup: EmbeddingsSetup,
  request: EmbeddingsRequest,
  batch: readonly EmbeddingInput[],
  context: CallContext,
): Promise<EmbeddingsAnswer> {
  const body = {
    ...mergeExtraBody({}, request.extraBody, "replace"),
    model: context.upstreamModel,
    input: batch,
    encoding_format: "float",
    ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }),
    ...(request.user === undefined ? {} : { user: request.user }),
  };
  const headers = { ...setup.headers, "x-request-id": context.requestId };
  const sent = JSON.stringify(body);
  const response = await postWithKeyOrBearer(context, setup.url, headers, sent, setup.mapError, setup.bearer);
  const text = await readUpstreamText(response, context.signal);
  return readEmbeddings(text, batch.length, setup.apiKey);
}

/** The answer's vectors in input order (by `index` when the vendor sent it), and its usage. */
export function readEmbeddings(text: string, expected: number, apiKey: string | undefined): EmbeddingsAnswer {
  const answer = readUpstreamAnswer(embeddingsResponseSchema, parseUpstreamJson(text));
  if (answer.error != null && answer.error !== "") throw mapOpenAICompatibleStreamError(answer.error, apiKey);
  const vectors: (readonly number[])[] = new Array(expected);
  for (const [position, item] of (answer.data ?? []).entries()) {
    const index = item.index ?? position;
    const vector = typeof item.embedding === "string" ? fromFloat32Base64(item.embedding) : item.embedding;
    if (vector === undefined || index < 0 || index >= expected || vectors[index] !== undefined) {
      throw new ProxyError("bad_upstream_response", "The upstream answered with malformed embeddings.");
    }
    vectors[index] = vector;
  }
  const count = (answer.data ?? []).length;
  if (count !== expected) {
    throw new ProxyError(
      "bad_upstream_response",
      `The upstream answered ${count} embeddings for ${expected} inputs.`,
    );
  }
  const usage = answer.usage;
  const promptTokens = usage?.prompt_tokens ?? undefined;
  return promptTokens == null
    ? { vectors }
    : { vectors, usage: { promptTokens, totalTokens: usage?.total_tokens ?? promptTokens } };
}
