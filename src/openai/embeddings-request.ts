/**
 * The body of POST /v1/embeddings → canonical EmbeddingsRequest. `input` is a string, strings, one token list or
 * token lists, as OpenAI takes it; `encoding_format` says how the answer carries vectors (float, or base64 of
 * little-endian float32, which the official SDKs ask for by default). Fields we do not model go to the vendor
 * as extra body (e.g. DashScope's `text_type`), as on chat. Counts, emptiness and `dimensions` ≤ 0 are the core's
 * checks (the gRPC edge needs them too).
 * @see https://platform.openai.com/docs/api-reference/embeddings/create
 */
import { z } from "zod";
import type { EmbeddingInput, EmbeddingsRequest } from "../core/embeddings-types.ts";
import type { JsonObject } from "../core/types.ts";
import { invalidRequest } from "../edge/openai-errors.ts";
import { requestModel } from "../edge/request-model.ts";

const tokens = z.array(z.number().int());

const embeddingsRequestSchema = z.looseObject({
  model: z.string().optional(),
  input: z.union([z.string(), z.array(z.string()), tokens, z.array(tokens)], {
    error: (issue) =>
      issue.input === undefined
        ? "'input' is required."
        : "'input' must be a string, an array of strings, an array of token ids, or an array of such arrays.",
  }),
  encoding_format: z.enum(["float", "base64"]).nullish(),
  dimensions: z.number().int().nullish(),
  user: z.string().nullish(),
});

const MODELLED_FIELDS: ReadonlySet<string> = new Set(Object.keys(embeddingsRequestSchema.shape));

/** How the answer encodes its vectors. */
export type EncodingFormat = "float" | "base64";

/** A decoded request and the encoding its answer must use. */
export interface DecodedEmbeddings {
  readonly request: EmbeddingsRequest;
  readonly encodingFormat: EncodingFormat;
}

/** Validates a parsed JSON body and converts it. `defaultModel` fills in a missing or empty model. */
export function decodeEmbeddings(body: unknown, defaultModel: string | undefined): DecodedEmbeddings {
  const parsed = embeddingsRequestSchema.safeParse(body);
  if (!parsed.success) throw invalidRequest(parsed.error.issues);
  const data = parsed.data;
  const model = requestModel(data.model, defaultModel);
  return {
    request: {
      model,
      inputs: inputsOf(data.input),
      dimensions: data.dimensions ?? undefined,
      user: data.user ?? undefined,
      extraBody: extraBodyOf(data),
    },
    encodingFormat: data.encoding_format ?? "float",
  };
}

/** A string or one token list is one input; an array of either is one input per item. */
function inputsOf(
  input: string | readonly string[] | readonly number[] | readonly (readonly number[])[],
): EmbeddingInput[] {
  if (typeof input === "string") return [input];
  if (input.length > 0 && typeof input[0] === "number") return [input as readonly number[]];
  return [...(input as readonly EmbeddingInput[])];
}

function extraBodyOf(body: Record<string, unknown>): JsonObject | undefined {
  let extra: JsonObject | undefined;
  for (const [key, value] of Object.entries(body)) {
    if (MODELLED_FIELDS.has(key) || value === undefined) continue;
    extra ??= {};
    // The body came from JSON.parse, so every value is JSON.
    extra[key] = value as JsonObject[string];
  }
  return extra;
}
