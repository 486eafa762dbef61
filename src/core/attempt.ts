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
import { BatchesOfChunks } from "./batches.ts";
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
  /** Adapters may ask their upstream for a whole answer (see CallContext.wholeAnswer). */
  readonly wholeAnswer: boolean;
}

type Batch = readonly ChatChunk[];

/**
 * What the relay of an opened attempt needs to end the request: not the request itself, which it would otherwise
 * keep alive (a large prompt, for as long as the answer streams) after nothing can retry it any more.
 */
type RequestEnd = Pick<AttemptInput, "clientSignal" | "requestScope" | "trace">;

function requestEndOf(input: AttemptInput): RequestEnd {
  return { clientSignal: input.clientSignal, requestScope: input.requestScope, trace: input.trace };
}

/** A started attempt: the upstream's first chunk has arrived. */
export interface OpenedAttempt {
  readonly upstreamId: string | undefined;
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
): Promise<OpenedAttempt> {
  const scope = createAbortScope(input.requestScope);
  const context: CallContext = {
    upstreamModel: deployment.upstreamModel,
    signal: scope.signal,
    transport: deps.transport,
    log: input.log,
    requestId: input.requestId,
    now: deps.now,
    generateId: deps.generateId,
    wholeAnswer: input.wholeAnswer,
  };
  const seconds = Math.round(deps.firstTokenTimeoutMs / 100) / 10;
  scope.arm(
    deps.firstTokenTimeoutMs,
    () => new ProxyError("timeout", `No response from the upstream within ${seconds} s.`),
  );
  let iterator: AsyncIterator<Batch> | undefined;
  try {
    const source =
      adapter.streamBatches?.(input.request, context) ??
      new BatchesOfChunks(adapter.stream(input.request, context)[Symbol.asyncIterator]());
    iterator = source[Symbol.asyncIterator]();
    let first = await iterator.next();
    while (first.done !== true && first.value.length === 0) first = await iterator.next();
    if (first.done === true) {
      throw new ProxyError("bad_upstream_response", "The upstream ended the response without any content.");
    }
    scope.disarm();
    deps.health.recordSuccess(deployment.key);
    const head = first.value[0];
    const end = requestEndOf(input);
    const relay = relayBatches(deps, iterator, first.value, deployment, end, scope);
    return {
      upstreamId: head?.type === "response-start" ? head.id : undefined,
      batches: releaseEvenIfUnstarted(relay, iterator, end, scope),
    };
  } catch (error) {
    const failure = failureOf(error, input.clientSignal, scope.signal);
    scope.abort(failure);
    scope.dispose();
    await closeQuietly(iterator);
    throw failure;
  }
}

/**
 * Relays the adapter's batches: drops further response-starts, holds usage back so exactly one usage chunk
 * comes last, re-arms the idle timer per batch (per network read), and turns anything thrown into a ProxyError.
 * Closing it early (the edge stopped reading) closes the adapter's stream and aborts its upstream request.
 */
async function* relayBatches(
  deps: AttemptDeps,
  iterator: AsyncIterator<Batch>,
  head: Batch,
  deployment: Deployment,
  input: RequestEnd,
  scope: AbortScope,
): AsyncGenerator<Batch> {
  const idleSeconds = Math.round(deps.streamIdleTimeoutMs / 100) / 10;
  const idleError = () => new ProxyError("timeout", `The upstream stream was idle for ${idleSeconds} s.`);
  const held: HeldUsage = { usage: undefined };
  let finished = false;
  let failure: ProxyError | undefined;
  try {
    let batch = head;
    for (;;) {
      const out = forwardable(batch, held, input.trace);
      if (out.length > 0) yield out;
      scope.arm(deps.streamIdleTimeoutMs, idleError);
      const next = await iterator.next();
      if (next.done === true) break;
      batch = next.value;
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
    input.trace.end(failure, held.usage?.usage);
  }
  if (held.usage !== undefined) yield [held.usage];
}

interface HeldUsage {
  usage: Extract<ChatChunk, { type: "usage" }> | undefined;
}

/** The batch without response-starts and usage (kept in `held`), noting finishes; the batch itself if clean. */
function forwardable(batch: Batch, held: HeldUsage, trace: RequestTrace): Batch {
  let clean = true;
  for (const chunk of batch) {
    if (chunk.type === "usage" || chunk.type === "response-start" || chunk.type === "finish") {
      clean = false;
      break;
    }
  }
  if (clean) return batch;
  const out: ChatChunk[] = [];
  for (const chunk of batch) {
    if (chunk.type === "usage") held.usage = chunk;
    else if (chunk.type !== "response-start") {
      if (chunk.type === "finish") trace.noteFinish(chunk.reason);
      out.push(chunk);
    }
  }
  return out;
}

/**
 * An async generator's return() skips its `finally` when it never started, which would leave the upstream
 * request open until the budget runs out; this wrapper releases everything in that case too.
 */
function releaseEvenIfUnstarted(
  relay: AsyncGenerator<Batch>,
  upstream: AsyncIterator<Batch>,
  input: RequestEnd,
  scope: AbortScope,
): AsyncIterableIterator<Batch> {
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

async function closeQuietly(iterator: AsyncIterator<Batch> | undefined): Promise<void> {
  try {
    await iterator?.return?.();
  } catch {
    // The adapter's own cleanup failing must not hide the error we are reporting.
  }
}
