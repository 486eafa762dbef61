/**
 * Canonical embeddings types: what every edge decodes an embeddings request into, what an adapter answers, and
 * what the core hands back. Vectors stay plain numbers as the vendor sent them (JSON doubles); the edges narrow
 * them to float32 where their wire format says so (base64 answers, protobuf `repeated float`).
 */
import type { JsonObject } from "./types.ts";

/** One input to embed: a text, or a list of token ids (OpenAI's tokenized form). */
export type EmbeddingInput = string | readonly number[];

/** An embeddings request after decoding, whichever edge it came from. */
export interface EmbeddingsRequest {
  /** Public model name, as the client sent it (the default model already applied). */
  readonly model: string;
  /** At least one input; the answer holds one vector per input, in this order. */
  readonly inputs: readonly EmbeddingInput[];
  /** Output dimensions, for models that can shorten their vectors. */
  readonly dimensions?: number;
  /** The end user, forwarded to vendors that take it (abuse monitoring). */
  readonly user?: string;
  /** Vendor fields we do not model, merged into the body by adapters that speak OpenAI's format. */
  readonly extraBody?: JsonObject;
}

/** Token counts of an embeddings call: only the input is counted. */
export interface EmbeddingsUsage {
  readonly promptTokens: number;
  readonly totalTokens: number;
}

/** What an adapter answers for one attempt: one vector per input, in the inputs' order. */
export interface EmbeddingsAnswer {
  readonly vectors: readonly (readonly number[])[];
  /** Undefined when the vendor reports none (Gemini's batchEmbedContents). */
  readonly usage?: EmbeddingsUsage;
}

/** The core's answer to an edge. */
export interface EmbeddingsResult {
  /** The public model name the client asked for. */
  readonly model: string;
  /** One vector per input, in the inputs' order. */
  readonly vectors: readonly (readonly number[])[];
  /** Zeros when the vendor reported none. */
  readonly usage: EmbeddingsUsage;
  /** Where it was served: the provider, the upstream model id, and how many attempts it took. */
  readonly served: { readonly provider: string; readonly upstreamModel: string; readonly attempts: number };
}
