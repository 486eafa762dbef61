/**
 * The protocol-neutral chat core: route the model to a plan (its weighted deployments, then its fallbacks),
 * attempt deployments with retries, backoff and cooldowns, and hand the edge a stream once its first chunk
 * has arrived. Nothing is retried or rerouted after that point: the client may already have seen bytes.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ProviderAdapter, UpstreamTransport } from "../providers/types.ts";
import { createDeploymentHealth, type DeploymentHealth } from "../routing/deployment-health.ts";
import { orderDeployments } from "../routing/order-deployments.ts";
import type { Deployment, ModelGroup, RoutePlan, Router } from "../routing/router.ts";
import { aggregateStream } from "./aggregate.ts";
import { type AttemptDeps, type AttemptInput, type OpenedAttempt, openAttempt } from "./attempt.ts";
import { ChunksOfBatches } from "./batches.ts";
import type { CallOptions, ChatCore, ChatStream } from "./chat-stream.ts";
import { createAbortScope, failureOf } from "./deadline.ts";
import { ProxyError } from "./errors.ts";
import { checkExtraBody } from "./extra-body.ts";
import { actionFor, blamesDeployment, isContextWindowError } from "./failure-policy.ts";
import { failureReason } from "./failure-reason.ts";
import { type RequestObserver, UNOBSERVED } from "./observer.ts";
import { retryDelayMs } from "./retry-policy.ts";
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
}

interface CoreState extends AttemptDeps {
  readonly deps: ChatCoreDeps;
}

/** A group's outcome: a started stream, or the last failure. */
type GroupOutcome =
  | { readonly opened: OpenedAttempt; readonly provider: string; readonly upstreamModel: string }
  | { readonly error: ProxyError };

/** Creates the core. */
export function createChatCore(deps: ChatCoreDeps): ChatCore {
  const health: DeploymentHealth = createDeploymentHealth(deps.cooldown);
  const state: CoreState = {
    deps,
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
  };
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
  observer.requestStarted({ request, requestId: options.requestId, stream });
  const plan = state.deps.router.resolve(request.model);
  if (plan === undefined) {
    throw failedBeforeStream(
      observer,
      new ProxyError("model_not_found", `The model '${request.model}' does not exist on this gateway.`, {
        param: "model",
        code: "model_not_found",
      }),
    );
  }
  const requestScope = createAbortScope(options.signal);
  requestScope.arm(
    state.deps.timeoutMs,
    () => new ProxyError("timeout", "The request exceeded proxy.timeout.", { retryable: false }),
  );
  const input: AttemptInput = {
    request,
    log: options.log,
    requestId: options.requestId,
    clientSignal: options.signal,
    requestScope,
    observer,
    // A whole answer in one upstream response is cheaper, but then the first token is the last one: only when
    // no first-token timeout shorter than the whole budget was configured (its meaning stays the same).
    wholeAnswer: !stream && state.deps.firstTokenTimeoutMs >= state.deps.timeoutMs,
  };
  const attempts = { count: 0 };
  try {
    const outcome = await runPlan(state, plan, input, attempts);
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
      chunks: new ChunksOfBatches(batches),
      signal: requestScope.signal,
    };
  } catch (error) {
    requestScope.dispose();
    throw failedBeforeStream(observer, error);
  }
}

/** The primary group, then fallbacks; a context-window failure switches to the context-window fallbacks. */
async function runPlan(
  state: CoreState,
  plan: RoutePlan,
  input: AttemptInput,
  attempts: { count: number },
): Promise<GroupOutcome> {
  let groups: readonly ModelGroup[] = [plan.primary, ...plan.fallbacks];
  let switchedForContext = false;
  let last: GroupOutcome | undefined;
  for (let position = 0; position < groups.length; position++) {
    const group = groups[position];
    if (group === undefined) break;
    if (position > 0) {
      input.log.warn({ fallbackTo: group.model, kind: errorOf(last)?.kind }, "falling back to another model");
      input.observer.fallback(groups[position - 1]?.model ?? plan.primary.model, group.model);
    }
    last = await tryGroup(state, group, input, attempts);
    if ("opened" in last) return last;
    const action = actionFor(last.error, state.deps.maxRetryWaitMs);
    if (input.requestScope.signal.aborted) break;
    if (action === "stop") {
      if (switchedForContext || plan.contextWindowFallbacks.length === 0 || !isContextWindowError(last.error))
        break;
      switchedForContext = true;
      groups = [...groups.slice(0, position + 1), ...plan.contextWindowFallbacks];
    }
  }
  return last ?? { error: new ProxyError("internal", "No upstream attempt was made.") };
}

/** Tries a model's deployments: transient failures are retried with backoff, rotating deployments. */
async function tryGroup(
  state: CoreState,
  group: ModelGroup,
  input: AttemptInput,
  attempts: { count: number },
): Promise<GroupOutcome> {
  const order = orderDeployments(group.deployments, state.health, state.now(), state.deps.random);
  const skipped = new Set<string>();
  let retriesLeft = state.deps.maxRetries;
  let lastError: ProxyError | undefined;
  for (let turn = 0; skipped.size < order.length; turn++) {
    const deployment = order[turn % order.length];
    if (deployment === undefined || skipped.has(deployment.key)) continue;
    const adapter = state.deps.adapters.get(deployment.provider);
    if (adapter === undefined) {
      skipped.add(deployment.key);
      continue;
    }
    if (state.health.stateOf(deployment.key, state.now()) === "probe-ready")
      state.health.beginProbe(deployment.key);
    attempts.count += 1;
    const observer = input.observer;
    observer.attemptStarted({
      number: attempts.count,
      provider: deployment.provider,
      upstreamModel: deployment.upstreamModel,
    });
    try {
      const open = () => openAttempt(state, adapter, deployment, input);
      const opened = await (observer.runAttempt === undefined ? open() : observer.runAttempt(open));
      observer.firstChunk();
      return { opened, provider: deployment.provider, upstreamModel: deployment.upstreamModel };
    } catch (error) {
      lastError = failureOf(error, input.clientSignal, input.requestScope.signal);
      if (blamesDeployment(lastError)) state.health.recordFailure(deployment.key, state.now());
      const action = actionFor(lastError, state.deps.maxRetryWaitMs);
      observer.attemptFailed(lastError);
      input.log.warn(
        {
          provider: deployment.provider,
          upstreamModel: deployment.upstreamModel,
          attempt: attempts.count,
          kind: lastError.kind,
          reason: failureReason(lastError),
          action,
        },
        "upstream attempt failed",
      );
      if (input.requestScope.signal.aborted || action === "stop") return { error: lastError };
      if (action === "skip-deployment") skipped.add(deployment.key);
      else if (retriesLeft-- <= 0) return { error: lastError };
      else if (nextDeployment(order, skipped, turn)?.key === deployment.key) {
        // Back off only before hitting the same deployment again; another one is tried at once.
        await waitBeforeRetry(state, state.deps.maxRetries - retriesLeft - 1, lastError, input);
      }
    }
  }
  return {
    error: lastError ?? new ProxyError("configuration", `Model '${group.model}' has no usable deployment.`),
  };
}

async function waitBeforeRetry(
  state: CoreState,
  retry: number,
  error: ProxyError,
  input: AttemptInput,
): Promise<void> {
  try {
    await sleep(retryDelayMs(retry, error.retryAfterMs, state.deps.random), undefined, {
      signal: input.requestScope.signal,
    });
  } catch {
    // Aborted while waiting: the caller sees requestScope aborted and reports why.
  }
}

function nextDeployment(
  order: readonly Deployment[],
  skipped: ReadonlySet<string>,
  turn: number,
): Deployment | undefined {
  for (let step = 1; step <= order.length; step++) {
    const candidate = order[(turn + step) % order.length];
    if (candidate !== undefined && !skipped.has(candidate.key)) return candidate;
  }
  return undefined;
}

/** Reports a request that failed before any stream was handed to the edge; returns the error for throwing. */
function failedBeforeStream(observer: RequestObserver, error: unknown): unknown {
  observer.finished(ProxyError.from(error), false);
  return error;
}

function errorOf(outcome: GroupOutcome | undefined): ProxyError | undefined {
  return outcome !== undefined && "error" in outcome ? outcome.error : undefined;
}
