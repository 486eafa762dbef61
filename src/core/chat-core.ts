/**
 * The protocol-neutral chat core: route the model to a plan (its weighted deployments, then its fallbacks),
 * attempt deployments with retries, backoff and cooldowns, and hand the edge a stream once its first chunk
 * has arrived. Nothing is retried or rerouted after that point: the client may already have seen bytes.
 */
import type { ProviderAdapter, UpstreamTransport } from "../providers/types.ts";
import { createDeploymentHealth, type HealthDecorator } from "../routing/deployment-health.ts";
import type { Deployment, Router } from "../routing/router.ts";
import { aggregateStream } from "./aggregate.ts";
import { type AttemptDeps, type AttemptInput, type OpenedAttempt, openAttempt } from "./attempt.ts";
import { UnbatchedChunks } from "./batches.ts";
import type { CallOptions, ChatCore, ChatStream } from "./chat-stream.ts";
import { countTokens } from "./count-tokens-core.ts";
import { createDeadline } from "./deadline.ts";
import { embed } from "./embeddings-core.ts";
import { ProxyError } from "./errors.ts";
import { checkExtraBody } from "./extra-body.ts";
import { UNOBSERVED, type UpstreamCallObserver } from "./observer.ts";
import { failedBeforeStream, modelNotFound, type PlanDeps, runPlan } from "./route-plan.ts";
import type { ChatRequest, ModelInfo } from "./types.ts";

/** What the core is built from; one set per loaded config. */
export interface ChatCoreDeps {
  readonly router: Router;
  readonly adapters: ReadonlyMap<string, ProviderAdapter>;
  readonly models: readonly ModelInfo[];
  readonly defaultModel: string | undefined;
  readonly transport: UpstreamTransport;
  /** Total budget of one request, milliseconds. */
  readonly timeoutMs: number;
  readonly firstTokenTimeoutMs: number;
  readonly streamIdleTimeoutMs: number;
  /** Retries of transient failures per model group. */
  readonly maxRetries: number;
  readonly maxRetryWaitMs: number;
  readonly cooldown: { readonly failures: number; readonly durationMs: number };
  readonly now: () => number;
  readonly generateId: (prefix: string) => string;
  readonly random: () => number;
  /** Most inputs one embeddings request may hold (`proxy.max_embedding_inputs`); default 2048. */
  readonly maxEmbeddingInputs?: number;
  /** Wraps the deployments' health, e.g. to share cooldowns with other replicas (src/routing/shared-cooldowns.ts). */
  readonly decorateHealth?: HealthDecorator;
}

/** One core's working state: its deps, the deployments' health, and the plan runner built on them. */
export interface CoreState extends AttemptDeps {
  readonly deps: ChatCoreDeps;
  readonly plan: PlanDeps;
}

/** Creates the core. */
export function createChatCore(deps: ChatCoreDeps): ChatCore {
  const ownHealth = createDeploymentHealth(deps.cooldown);
  const health = deps.decorateHealth?.(ownHealth, deps.cooldown) ?? ownHealth;
  const state: CoreState = {
    deps,
    plan: { ...deps, health },
    transport: deps.transport,
    health,
    firstTokenTimeoutMs: deps.firstTokenTimeoutMs,
    streamIdleTimeoutMs: deps.streamIdleTimeoutMs,
    now: deps.now,
    generateId: deps.generateId,
  };
  return {
    defaultModel: deps.defaultModel,
    listModels: () => deps.models,
    openStream: (request, options) => openStream(state, request, options, true),
    // A then, not an async arrow returning aggregateStream's promise: that would cost two more microtask turns.
    complete: (request, options) => openStream(state, request, options, false).then(aggregateStream),
    embed: (request, options) => embed(state, request, options),
    countTokens: (request, options) => countTokens(state, request, options),
  };
}

/**
 * The request deadline's reason, at module level on purpose: the deadline keeps it until the answer's last chunk,
 * and an arrow written inside openStream would share that function's closure context, which holds `input` (and so
 * the whole prompt) for the plan's `open` arrow: every streamed answer would keep its prompt alive.
 */
function requestTimedOut(): ProxyError {
  return new ProxyError("timeout", "The request exceeded proxy.timeout.", { retryable: false });
}

async function openStream(
  state: CoreState,
  request: ChatRequest,
  options: CallOptions,
  stream: boolean,
): Promise<ChatStream> {
  // Here rather than in each edge's decoder, so that no edge can let extra body pick the model or the prompt.
  checkExtraBody(request.extraBody);
  const observer = options.observer ?? UNOBSERVED;
  observer.requestStarted({ operation: "chat", request, requestId: options.requestId, stream });
  const plan = state.deps.router.resolve(request.model);
  if (plan === undefined) {
    throw failedBeforeStream(observer, modelNotFound(request.model));
  }
  const requestDeadline = createDeadline(options.signal);
  requestDeadline.arm(state.deps.timeoutMs, requestTimedOut);
  const input: AttemptInput = {
    request,
    log: options.log,
    requestId: options.requestId,
    clientSignal: options.signal,
    requestDeadline,
    observer,
    // A whole answer in one upstream response is cheaper, but then the first token is the last one: only when
    // no first-token timeout shorter than the whole budget was configured (its meaning stays the same).
    wholeAnswer: !stream && state.deps.firstTokenTimeoutMs >= state.deps.timeoutMs,
  };
  const attempts = { count: 0 };
  try {
    const call = {
      ...input,
      open: (
        adapter: ProviderAdapter,
        deployment: Deployment,
        upstreamCall: UpstreamCallObserver | undefined,
      ) => openAttempt(state, adapter, deployment, input, upstreamCall),
    };
    const outcome = await runPlan<OpenedAttempt>(state.plan, plan, call, attempts);
    if ("error" in outcome) throw outcome.error;
    const batches = outcome.opened.batches;
    return {
      id: outcome.opened.upstreamId ?? state.deps.generateId("chatcmpl"),
      created: Math.floor(state.deps.now() / 1000),
      model: request.model,
      choiceCount: request.n ?? 1,
      systemFingerprint: outcome.opened.systemFingerprint,
      serviceTier: outcome.opened.serviceTier,
      served: { provider: outcome.provider, upstreamModel: outcome.upstreamModel, attempts: attempts.count },
      batches,
      chunks: new UnbatchedChunks(batches),
      signal: requestDeadline.signal,
    };
  } catch (error) {
    requestDeadline.dispose();
    throw failedBeforeStream(observer, error);
  }
}
