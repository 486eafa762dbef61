/**
 * One attempt at one deployment: start the adapter's stream, wait (bounded by the first-token timeout) for
 * its first chunk, then relay the rest with a stream-idle timeout. Once this resolves, the edge may write
 * bytes, so nothing after it is retried.
 */
import type { FastifyBaseLogger } from "fastify";
import type { CallContext, ProviderAdapter, UpstreamTransport } from "../providers/types.ts";
import type { DeploymentHealth } from "../routing/deployment-health.ts";
import type { Deployment } from "../routing/router.ts";
import { AttemptRelay } from "./attempt-relay.ts";
import { SingleChunkBatches } from "./batches.ts";
import { createDeadline, type Deadline, failureOf } from "./deadline.ts";
import { ProxyError } from "./errors.ts";
import type { RequestObserver, UpstreamCallObserver } from "./observer.ts";
import { withOwnReasoningOnly } from "./reasoning-state.ts";
import type { ChatChunk, ChatRequest } from "./types.ts";
import { estimatePromptTokens } from "./usage-estimate.ts";

/** What an attempt needs besides the request. */
export interface AttemptDeps {
  readonly transport: UpstreamTransport;
  readonly health: DeploymentHealth;
  readonly firstTokenTimeoutMs: number;
  readonly streamIdleTimeoutMs: number;
  readonly now: () => number;
  readonly generateId: (prefix: string) => string;
}

/** Per-request inputs shared by its attempts. */
export interface AttemptInput {
  readonly request: ChatRequest;
  readonly log: FastifyBaseLogger;
  readonly requestId: string;
  readonly clientSignal: AbortSignal;
  /** The request's deadline (client signal + total budget); disposed by whoever ends the request. */
  readonly requestDeadline: Deadline;
  /** Told what happens to the request; told it finished by whoever ends the request. */
  readonly observer: RequestObserver;
  /** Adapters may ask their upstream for a whole answer (see CallContext.wholeAnswer). */
  readonly wholeAnswer: boolean;
}

type Batch = readonly ChatChunk[];

/** A started attempt: the upstream's first chunk has arrived. */
export interface OpenedAttempt {
  readonly upstreamId: string | undefined;
  /** What the upstream's first event said about the answer, for every chunk's header. */
  readonly systemFingerprint?: string;
  readonly serviceTier?: string;
  /**
   * The remaining chunks in batches (response-start dropped, usage last and alone). Ending, failing or
   * `return()`-ing it (even before the first `next()`) aborts the upstream request if still open and releases
   * every timer.
   */
  readonly batches: AsyncIterableIterator<Batch>;
}

/** Runs one attempt up to its first chunk. Rejects with the ProxyError to classify. */
export async function openAttempt(
  deps: AttemptDeps,
  adapter: ProviderAdapter,
  deployment: Deployment,
  input: AttemptInput,
  upstreamCall: UpstreamCallObserver | undefined,
): Promise<OpenedAttempt> {
  const attemptDeadline = createDeadline(input.requestDeadline);
  const context: CallContext = {
    upstreamModel: deployment.upstreamModel,
    signal: attemptDeadline.signal,
    transport: deps.transport,
    log: input.log,
    requestId: input.requestId,
    now: deps.now,
    generateId: deps.generateId,
    wholeAnswer: input.wholeAnswer,
    upstreamCall,
  };
  const seconds = Math.round(deps.firstTokenTimeoutMs / 100) / 10;
  attemptDeadline.arm(
    deps.firstTokenTimeoutMs,
    () => new ProxyError("timeout", `No response from the upstream within ${seconds} s.`),
  );
  let iterator: AsyncIterator<Batch> | undefined;
  // Reasoning state goes back only to the provider and model that produced it (a fallback goes without).
  const request = withOwnReasoningOnly(input.request, {
    provider: adapter.name,
    model: deployment.upstreamModel,
  });
  try {
    const source =
      adapter.streamBatches?.(request, context) ??
      new SingleChunkBatches(adapter.stream(request, context)[Symbol.asyncIterator]());
    iterator = source[Symbol.asyncIterator]();
    let first = await iterator.next();
    while (first.done !== true && first.value.length === 0) first = await iterator.next();
    if (first.done === true) {
      throw new ProxyError("bad_upstream_response", "The upstream ended the response without any content.");
    }
    attemptDeadline.disarm();
    deps.health.recordSuccess(deployment.key);
    const head = first.value[0];
    const settings = {
      health: deps.health,
      deploymentKey: deployment.key,
      streamIdleTimeoutMs: deps.streamIdleTimeoutMs,
      now: deps.now,
    };
    // The relay keeps only what ends the request, not the request (its prompt) itself.
    const end = {
      clientSignal: input.clientSignal,
      requestDeadline: input.requestDeadline,
      observer: input.observer,
      promptTokensEstimate: estimatePromptTokens(input.request),
    };
    const start = head?.type === "response-start" ? head : undefined;
    return {
      upstreamId: start?.id,
      systemFingerprint: start?.systemFingerprint,
      serviceTier: start?.serviceTier,
      batches: new AttemptRelay(settings, iterator, first.value, end, attemptDeadline),
    };
  } catch (error) {
    const failure = failureOf(error, input.clientSignal, attemptDeadline.signal);
    attemptDeadline.abort(failure);
    attemptDeadline.dispose();
    await closeQuietly(iterator);
    throw failure;
  }
}

async function closeQuietly(iterator: AsyncIterator<Batch> | undefined): Promise<void> {
  try {
    await iterator?.return?.();
  } catch {
    // The adapter's own cleanup failing must not hide the error we are reporting.
  }
}
