/**
 * One attempt at one deployment: start the adapter's stream, wait (bounded by the first-token timeout) for
 * its first chunk, then relay the rest with a stream-idle timeout. Once this resolves, the edge may write
 * bytes, so nothing after it is retried.
 */
import type { FastifyBaseLogger } from "fastify";
import type { CallContext, ProviderAdapter, UpstreamTransport } from "../providers/types.ts";
import type { DeploymentHealth } from "../routing/deployment-health.ts";
import type { Deployment } from "../routing/router.ts";
import type { RequestTrace } from "../telemetry/request-trace.ts";
import { type AbortScope, createAbortScope, failureOf } from "./deadline.ts";
import { ProxyError } from "./errors.ts";
import { blamesDeployment } from "./failure-policy.ts";
import type { ChatChunk, ChatRequest } from "./types.ts";

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
  /** The request's scope (client signal + total budget); disposed by whoever ends the request. */
  readonly requestScope: AbortScope;
  /** The request's spans and record; ended by whoever ends the request. */
  readonly trace: RequestTrace;
}

/** A started attempt: the upstream's first chunk has arrived. */
export interface OpenedAttempt {
  readonly upstreamId: string | undefined;
  /**
   * The remaining chunks (response-start dropped, usage last). Ending, failing or `return()`-ing it (even
   * before the first `next()`) aborts the upstream request if still open and releases every timer.
   */
  readonly chunks: AsyncIterableIterator<ChatChunk>;
}

/** Runs one attempt up to its first chunk. Rejects with the ProxyError to classify. */
export async function openAttempt(
  deps: AttemptDeps,
  adapter: ProviderAdapter,
  deployment: Deployment,
  input: AttemptInput,
): Promise<OpenedAttempt> {
  const scope = createAbortScope(input.requestScope.signal);
  const context: CallContext = {
    upstreamModel: deployment.upstreamModel,
    signal: scope.signal,
    transport: deps.transport,
    log: input.log,
    requestId: input.requestId,
    now: deps.now,
    generateId: deps.generateId,
  };
  const seconds = Math.round(deps.firstTokenTimeoutMs / 100) / 10;
  scope.arm(
    deps.firstTokenTimeoutMs,
    () => new ProxyError("timeout", `No response from the upstream within ${seconds} s.`),
  );
  let iterator: AsyncIterator<ChatChunk> | undefined;
  try {
    iterator = adapter.stream(input.request, context)[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done === true) {
      throw new ProxyError("bad_upstream_response", "The upstream ended the response without any content.");
    }
    scope.disarm();
    deps.health.recordSuccess(deployment.key);
    const start = first.value.type === "response-start" ? first.value : undefined;
    const relay = relayChunks(
      deps,
      iterator,
      start === undefined ? first.value : undefined,
      deployment,
      input,
      scope,
    );
    return { upstreamId: start?.id, chunks: releaseEvenIfUnstarted(relay, iterator, input, scope) };
  } catch (error) {
    const failure = failureOf(error, input.clientSignal, scope.signal);
    scope.abort(failure);
    scope.dispose();
    await closeQuietly(iterator);
    throw failure;
  }
}

/**
 * Relays the adapter's chunks: drops further response-starts, holds usage back so exactly one usage chunk
 * comes last, re-arms the idle timer per chunk, and turns anything thrown into a ProxyError. Closing it early
 * (the edge stopped reading) closes the adapter's stream and aborts its upstream request.
 */
async function* relayChunks(
  deps: AttemptDeps,
  iterator: AsyncIterator<ChatChunk>,
  pending: ChatChunk | undefined,
  deployment: Deployment,
  input: AttemptInput,
  scope: AbortScope,
): AsyncGenerator<ChatChunk> {
  const idleSeconds = Math.round(deps.streamIdleTimeoutMs / 100) / 10;
  const idleError = () => new ProxyError("timeout", `The upstream stream was idle for ${idleSeconds} s.`);
  let usage: Extract<ChatChunk, { type: "usage" }> | undefined;
  let finished = false;
  let failure: ProxyError | undefined;
  try {
    if (pending !== undefined) yield pending;
    for (;;) {
      scope.arm(deps.streamIdleTimeoutMs, idleError);
      const next = await iterator.next();
      if (next.done === true) break;
      const chunk = next.value;
      if (chunk.type === "usage") usage = chunk;
      else if (chunk.type !== "response-start") {
        if (chunk.type === "finish") input.trace.noteFinish(chunk.reason);
        yield chunk;
      }
    }
    finished = true;
  } catch (error) {
    failure = failureOf(error, input.clientSignal, scope.signal);
    if (blamesDeployment(failure)) deps.health.recordFailure(deployment.key, deps.now());
    throw failure;
  } finally {
    if (!finished) {
      const cancelled = new ProxyError("cancelled", "The stream was closed before it ended.");
      failure ??= cancelled;
      scope.abort(cancelled);
      await closeQuietly(iterator);
    }
    scope.dispose();
    input.requestScope.dispose();
    input.trace.end(failure, usage?.usage);
  }
  if (usage !== undefined) yield usage;
}

/**
 * An async generator's return() skips its `finally` when it never started, which would leave the upstream
 * request open until the budget runs out; this wrapper releases everything in that case too.
 */
function releaseEvenIfUnstarted(
  relay: AsyncGenerator<ChatChunk>,
  upstream: AsyncIterator<ChatChunk>,
  input: AttemptInput,
  scope: AbortScope,
): AsyncIterableIterator<ChatChunk> {
  let started = false;
  return {
    next() {
      started = true;
      return relay.next();
    },
    async return(value?: unknown) {
      if (!started) {
        started = true;
        const cancelled = new ProxyError("cancelled", "The stream was closed before it was read.");
        scope.abort(cancelled);
        await closeQuietly(upstream);
        scope.dispose();
        input.requestScope.dispose();
        input.trace.end(cancelled, undefined);
      }
      return relay.return(value as undefined);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

async function closeQuietly(iterator: AsyncIterator<ChatChunk> | undefined): Promise<void> {
  try {
    await iterator?.return?.();
  } catch {
    // The adapter's own cleanup failing must not hide the error we are reporting.
  }
}
