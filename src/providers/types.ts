/**
 * The one small interface every provider adapter implements, and the context through which all of its I/O
 * flows (so tests inject fakes instead of patching globals).
 */
import type { FastifyBaseLogger } from "fastify";
import type { EmbeddingsAnswer, EmbeddingsRequest } from "../core/embeddings-types.ts";
import type { UpstreamCallObserver } from "../core/observer.ts";
import type { ChatChunk, ChatRequest } from "../core/types.ts";

/** Wire protocols the gateway speaks upstream. Every OpenAI-compatible vendor is `openai`. */
export type ProviderType = "openai" | "anthropic" | "gemini" | "echo";

/** An upstream HTTP response whose body has not been read yet. */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The raw body bytes; read it once, either by iterating or with text(). */
  readonly body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
}

/** One upstream POST. */
export interface UpstreamRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly signal: AbortSignal;
}

/** Sends upstream requests; the real one pools keep-alive connections per origin (src/providers/transport.ts). */
export interface UpstreamTransport {
  post(request: UpstreamRequest): Promise<UpstreamResponse>;
}

/** Caps on what one upstream stream may make an adapter hold (the config's `proxy` section). */
export interface StreamLimits {
  /** Largest single server-sent event, in bytes (`proxy.max_sse_event_bytes`). */
  readonly maxSseEventBytes: number;
}

/** Everything an adapter may touch during one attempt. */
export interface CallContext {
  /** The upstream model id chosen by routing. */
  readonly upstreamModel: string;
  /** Aborted when the client goes away or a deadline passes; must reach the upstream request. */
  readonly signal: AbortSignal;
  readonly transport: UpstreamTransport;
  /** The request's logger (carries the request id). */
  readonly log: FastifyBaseLogger;
  /** The request id, forwarded upstream as x-request-id. */
  readonly requestId: string;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** Ids for things the upstream did not name (e.g. Gemini tool calls). */
  readonly generateId: (prefix: string) => string;
  /**
   * The caller only wants the whole answer (a non-streaming client, and no first-token timeout to honour): an
   * adapter may ask its upstream for one completion instead of a stream. Adapters may ignore it.
   */
  readonly wholeAnswer?: boolean;
  /** Told about the upstream HTTP request, and adds its headers (tracing's `traceparent`); see postUpstream. */
  readonly upstreamCall?: UpstreamCallObserver;
}

/**
 * A provider adapter. `stream` throws ProxyError before its first chunk for failures the core may retry, and
 * throws from the iterator for failures mid-stream. Non-streaming requests are this stream aggregated.
 */
export interface ProviderAdapter {
  /** Config key of the provider, e.g. `openai` or `deepseek-backup`. */
  readonly name: string;
  readonly type: ProviderType;
  stream(request: ChatRequest, context: CallContext): AsyncIterable<ChatChunk>;
  /**
   * The same chunks as `stream`, grouped as they arrived (typically one array per network read, never empty).
   * Optional: the core prefers it when present, so that a read costs one promise however many chunks it carries.
   *
   * Two styles of stream reader exist on purpose. The OpenAI-compatible adapter carries most traffic (every
   * OpenAI-compatible vendor, and what the bench measures), so it reads the body with the plain batched iterator
   * (./sse-batches.ts: an SseEventReader per vendor format, no generator frames, one promise per
   * network read). Anthropic and Gemini keep async generators over `stream`: their event-to-chunk conversion
   * follows content blocks and candidates across events, which reads more plainly as a generator, and the core
   * wraps them one chunk per batch at one promise per chunk. Move one to an SseEventReader when its traffic
   * makes that promise count.
   */
  streamBatches?(request: ChatRequest, context: CallContext): AsyncIterable<readonly ChatChunk[]>;
  /**
   * One vector per input, in order (an adapter splits what its vendor caps per call). Absent when the vendor has
   * no embeddings API: the core then refuses the request. Rejects with ProxyError like `stream` before its first chunk.
   */
  embed?(request: EmbeddingsRequest, context: CallContext): Promise<EmbeddingsAnswer>;
  /**
   * The vendor's own count of the request's input tokens (Anthropic's count_tokens). Absent when the vendor has no
   * such endpoint: the edge then estimates. Rejects with ProxyError like `stream` before its first chunk.
   */
  countTokens?(request: ChatRequest, context: CallContext): Promise<number>;
}
