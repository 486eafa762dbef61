/**
 * The echo provider's embeddings: a deterministic unit vector per input, drawn from the SHA-256 of the input, so
 * the example config serves embeddings with no key and no network, and the same input always gets the same
 * vector (tests and demos can compare them). 16 dimensions unless the request asks for others.
 */
import { createHash } from "node:crypto";
import type { EmbeddingInput, EmbeddingsAnswer, EmbeddingsRequest } from "../../core/embeddings-types.ts";
import { ProxyError } from "../../core/errors.ts";
import type { CallContext } from "../types.ts";

/** Dimensions of an echo vector when the request names none. */
export const ECHO_EMBEDDING_DIMENSIONS = 16;
/** Largest `dimensions` echo makes (OpenAI's largest model has 3072). */
const MAX_ECHO_DIMENSIONS = 8192;
const WORD = /\S+/g;

/** One vector per input, and usage counted in words (token ids count one each). */
export async function embedEcho(request: EmbeddingsRequest, context: CallContext): Promise<EmbeddingsAnswer> {
  context.signal.throwIfAborted();
  const dimensions = request.dimensions ?? ECHO_EMBEDDING_DIMENSIONS;
  if (dimensions > MAX_ECHO_DIMENSIONS) {
    throw new ProxyError(
      "invalid_request",
      `'dimensions' must be at most ${MAX_ECHO_DIMENSIONS} for echo models.`,
      {
        param: "dimensions",
      },
    );
  }
  let tokens = 0;
  const vectors = request.inputs.map((input) => {
    tokens += typeof input === "string" ? (input.match(WORD)?.length ?? 0) : input.length;
    return echoVector(input, dimensions);
  });
  return { vectors, usage: { promptTokens: tokens, totalTokens: tokens } };
}

/** The input's vector: SHA-256 in counter mode gives the values, scaled to unit length. */
export function echoVector(input: EmbeddingInput, dimensions: number): number[] {
  const seed = typeof input === "string" ? `text:${input}` : `tokens:${input.join(",")}`;
  const values = new Array<number>(dimensions);
  let block: Buffer = Buffer.alloc(0);
  for (let index = 0; index < dimensions; index++) {
    const offset = (index % 8) * 4;
    if (offset === 0)
      block = createHash("sha256")
        .update(`${seed}#${index / 8}`)
        .digest();
    values[index] = block.readInt32LE(offset) / 2 ** 31;
  }
  const norm = Math.hypot(...values) || 1;
  // Rounded to what a float32 holds, so a base64 answer and a float answer carry the same numbers.
  return values.map((value) => Math.fround(value / norm));
}
