/**
 * The core's report of one request's lifecycle. The core defines this interface and calls nothing else to say what
 * it did: tracing, the metrics and the access line implement it outside the core (src/telemetry/), and so can any
 * later observer (a spend log, token limits). The core imports none of them; an edge hands the core the request's
 * observer in its CallOptions.
 *
 * Order for one request: `requestStarted`; then per upstream attempt `attemptStarted` (then `upstreamCall`, asked
 * once for the adapter's HTTP request), and either `attemptFailed` or `firstChunk`; `fallback` between two model
 * groups; once the stream was handed over, `choiceFinished` per finished choice; `usage` at most once;
 * `finished` exactly once, last. Methods are called on the request's hot path: they must be cheap and must not throw.
 */
import type { EmbeddingsRequest } from "./embeddings-types.ts";
import type { ProxyError } from "./errors.ts";
import type { ChatRequest, FinishReason, Usage } from "./types.ts";

/**
 * What the core knows when a request reaches it: a chat request, or an embeddings request (which never streams,
 * finishes no choices, and reports usage with no completion tokens).
 */
export type RequestStart =
  | (StartOf<ChatRequest> & { readonly operation: "chat" })
  | (StartOf<EmbeddingsRequest> & { readonly operation: "embeddings" });

interface StartOf<R> {
  /** The decoded request. Read what you need now: it holds the prompt, which must not outlive the call. */
  readonly request: R;
  readonly requestId: string;
  /** Whether the client asked for a stream. */
  readonly stream: boolean;
}

/** One upstream attempt, as it starts. */
export interface AttemptStart {
  /** 1-based, counted over the whole request (retries and fallbacks included). */
  readonly number: number;
  readonly provider: string;
  readonly upstreamModel: string;
}

/**
 * An observer's part in one attempt's upstream HTTP request, handed to the adapter explicitly (no ambient context:
 * an async-local one could stick to the pooled upstream sockets that request opened, for later requests).
 */
export interface UpstreamCallObserver {
  /** The headers to send: the adapter's own, plus what the observer adds (tracing: `traceparent`). */
  headers(url: string, headers: Readonly<Record<string, string>>): Readonly<Record<string, string>>;
  /** The upstream answered with `status` (any status: a 4xx/5xx attempt also fails). */
  answered(status: number): void;
}

/** One request's observer. */
export interface RequestObserver {
  requestStarted(start: RequestStart): void;
  /** The next attempts serve the public model `to`, because `from` failed. */
  fallback(from: string, to: string): void;
  attemptStarted(attempt: AttemptStart): void;
  /**
   * The observer of the upstream HTTP request of the attempt just started, if it wants one. Optional: tracing uses
   * it to send the attempt span's `traceparent` and to note the HTTP status on that span.
   */
  upstreamCall?(): UpstreamCallObserver | undefined;
  /** The attempt failed before its first chunk; a retry, a fallback or the request's failure follows. */
  attemptFailed(error: ProxyError): void;
  /** The attempt delivered its first chunk: it serves the request. */
  firstChunk(): void;
  /** A choice finished (once per choice, not per chunk). */
  choiceFinished(reason: FinishReason): void;
  /**
   * The token usage, reported once when the stream ends: the last one the upstream sent, or, when it sent none
   * (a stream abandoned or failed before its end, a vendor that reports none), the core's estimate, `estimated`
   * true: prompt tokens estimated from the request, output tokens from what was streamed (./usage-estimate.ts).
   */
  usage(usage: Usage, estimated?: boolean): void;
  /**
   * The request is over: `failure` is undefined when the answer was complete. `served` tells whether an attempt
   * had opened a stream (it then ended, failed mid-stream, or was abandoned by the edge as `cancelled`), or the
   * request failed before that.
   */
  finished(failure: ProxyError | undefined, served: boolean): void;
}

const ignore = (): void => {};

/** The observer of a request nobody observes. */
export const UNOBSERVED: RequestObserver = Object.freeze({
  requestStarted: ignore,
  fallback: ignore,
  attemptStarted: ignore,
  attemptFailed: ignore,
  firstChunk: ignore,
  choiceFinished: ignore,
  usage: ignore,
  finished: ignore,
});

/** One observer that tells each of `observers` everything, in order. */
export function fanOut(observers: readonly RequestObserver[]): RequestObserver {
  return new FanOut(observers);
}

class FanOut implements RequestObserver {
  readonly #observers: readonly RequestObserver[];

  constructor(observers: readonly RequestObserver[]) {
    this.#observers = observers;
  }

  requestStarted(start: RequestStart): void {
    for (const observer of this.#observers) observer.requestStarted(start);
  }

  fallback(from: string, to: string): void {
    for (const observer of this.#observers) observer.fallback(from, to);
  }

  attemptStarted(attempt: AttemptStart): void {
    for (const observer of this.#observers) observer.attemptStarted(attempt);
  }

  /** The first observer's that has one (only tracing has). */
  upstreamCall(): UpstreamCallObserver | undefined {
    for (const observer of this.#observers) {
      const call = observer.upstreamCall?.();
      if (call !== undefined) return call;
    }
    return undefined;
  }

  attemptFailed(error: ProxyError): void {
    for (const observer of this.#observers) observer.attemptFailed(error);
  }

  firstChunk(): void {
    for (const observer of this.#observers) observer.firstChunk();
  }

  choiceFinished(reason: FinishReason): void {
    for (const observer of this.#observers) observer.choiceFinished(reason);
  }

  usage(usage: Usage, estimated?: boolean): void {
    for (const observer of this.#observers) observer.usage(usage, estimated);
  }

  finished(failure: ProxyError | undefined, served: boolean): void {
    for (const observer of this.#observers) observer.finished(failure, served);
  }
}
