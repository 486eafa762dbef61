/** What the core hands an edge: a stream whose first upstream chunk has already arrived. */
import type { FastifyBaseLogger } from "fastify";
import type { EmbeddingsRequest, EmbeddingsResult } from "./embeddings-types.ts";
import type { RequestObserver } from "./observer.ts";
import type { ReasoningSeal } from "./reasoning-seal.ts";
import type { ChatChunk, ChatRequest, ChatResult, ModelInfo } from "./types.ts";

/** Per-call inputs every edge supplies. */
export interface CallOptions {
  /** Aborted when the client disconnects or its deadline passes. */
  readonly signal: AbortSignal;
  /** The request's logger; every line carries the request id. */
  readonly log: FastifyBaseLogger;
  readonly requestId: string;
  /** Told what the core does with the request (./observer.ts); nothing is reported without one. */
  readonly observer?: RequestObserver;
}

/**
 * An opened completion stream. `chunks` never yields `response-start` (its data is here); it yields the
 * choices' chunks, then at most one `usage` chunk, last. It throws ProxyError if the upstream fails mid-stream.
 */
export interface ChatStream {
  /** `chatcmpl-…` id shared by every chunk. */
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  /** The public model name the client asked for. */
  readonly model: string;
  /** Number of choices (n). */
  readonly choiceCount: number;
  /** The upstream's `system_fingerprint` and `service_tier`, from its first event, when it sent them. */
  readonly systemFingerprint?: string;
  readonly serviceTier?: string;
  /** Where it was served: the provider, the upstream model id, and how many attempts it took. */
  readonly served: { readonly provider: string; readonly upstreamModel: string; readonly attempts: number };
  /**
   * The chunks. Iterate to the end, or call `return()` when abandoning it (even unread): that aborts the
   * upstream request and releases the request's timers.
   */
  readonly chunks: AsyncIterableIterator<ChatChunk>;
  /**
   * The same chunks grouped as they arrived from the upstream (one batch per network read, usage alone at the
   * end), for edges that write a batch at once. Read `chunks` or `batches`, never both; streams made outside the
   * core may lack it (see batchesOf in ./batches.ts).
   */
  readonly batches?: AsyncIterableIterator<readonly ChatChunk[]>;
  /**
   * Aborts when the request's total budget (`proxy.timeout`) runs out or the call's own signal aborts. An edge
   * waiting for a client that has stopped reading must stop waiting then: its next read reports why. Streams
   * made outside the core may lack it.
   */
  readonly signal?: AbortSignal;
}

/** The protocol-neutral chat core both edges call. */
export interface ChatCore {
  /**
   * Routes, attempts (with retries and fallbacks) and resolves once the first chunk has arrived, so that
   * an edge can still answer with an error status. Rejects with ProxyError.
   */
  openStream(request: ChatRequest, options: CallOptions): Promise<ChatStream>;
  /** The stream aggregated into one result. Rejects with ProxyError. */
  complete(request: ChatRequest, options: CallOptions): Promise<ChatResult>;
  /** Embeds every input with the same routing, retries and fallbacks as chat. Rejects with ProxyError. */
  embed(request: EmbeddingsRequest, options: CallOptions): Promise<EmbeddingsResult>;
  /**
   * The vendor's own count of the request's input tokens, from the deployment that would serve it; undefined
   * when that vendor cannot count (the edge estimates). Optional: cores made outside createChatCore may lack it.
   */
  countTokens?(request: ChatRequest, options: CallOptions): Promise<number | undefined>;
  /** The public models, in config order. */
  listModels(): readonly ModelInfo[];
  /** The model used when a request names none. */
  readonly defaultModel: string | undefined;
  /**
   * Seals the reasoning state that edges hand clients between the turns of a tool loop, and opens it when it
   * comes back. Cores made outside createRuntime may lack it: their edges then carry no reasoning state.
   */
  readonly reasoningSeal?: ReasoningSeal;
}
