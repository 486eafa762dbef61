/**
 * How the core works through a model's route plan, whatever the call (a chat stream, an embeddings batch): the
 * primary model group, then its fallbacks (a context-window failure switches to the context-window fallbacks);
 * within a group, deployments in weighted order, transient failures retried with backoff, rotating deployments,
 * and each failure counted toward the deployment's cooldown. The call itself (`open`) is the caller's.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyBaseLogger } from "fastify";
import type { ProviderAdapter } from "../providers/types.ts";
import type { DeploymentHealth } from "../routing/deployment-health.ts";
import { orderDeployments } from "../routing/order-deployments.ts";
import type { Deployment, ModelGroup, RoutePlan } from "../routing/router.ts";
import { type Deadline, failureOf } from "./deadline.ts";
import { ProxyError } from "./errors.ts";
import { actionFor, blamesDeployment, isContextWindowError } from "./failure-policy.ts";
import { failureReason } from "./failure-reason.ts";
import type { RequestObserver, UpstreamCallObserver } from "./observer.ts";
import { retryDelayMs } from "./retry-policy.ts";

/** What the plan runner is built from; one set per core. */
export interface PlanDeps {
  readonly adapters: ReadonlyMap<string, ProviderAdapter>;
  readonly health: DeploymentHealth;
  /** Retries of transient failures per model group. */
  readonly maxRetries: number;
  readonly maxRetryWaitMs: number;
  readonly now: () => number;
  readonly random: () => number;
}

/** One request's call: how to attempt a deployment, and what ends or reports the request. */
export interface PlanCall<T> {
  readonly log: FastifyBaseLogger;
  readonly clientSignal: AbortSignal;
  /** The request's deadline (client signal + total budget). */
  readonly requestDeadline: Deadline;
  readonly observer: RequestObserver;
  /** Attempts one deployment, its upstream request told to `upstreamCall`; rejects with the failure to classify. */
  open(
    adapter: ProviderAdapter,
    deployment: Deployment,
    upstreamCall: UpstreamCallObserver | undefined,
  ): Promise<T>;
}

/** A plan's outcome: what an attempt opened, and where; or the last failure. */
export type PlanOutcome<T> =
  | { readonly opened: T; readonly provider: string; readonly upstreamModel: string }
  | { readonly error: ProxyError };

/** Runs the plan until an attempt succeeds or nothing is left to try; `attempts.count` counts every attempt. */
export async function runPlan<T>(
  deps: PlanDeps,
  plan: RoutePlan,
  call: PlanCall<T>,
  attempts: { count: number },
): Promise<PlanOutcome<T>> {
  let groups: readonly ModelGroup[] = [plan.primary, ...plan.fallbacks];
  let switchedForContext = false;
  let last: PlanOutcome<T> | undefined;
  for (let position = 0; position < groups.length; position++) {
    const group = groups[position];
    if (group === undefined) break;
    if (position > 0) {
      call.log.warn({ fallbackTo: group.model, kind: errorOf(last)?.kind }, "falling back to another model");
      call.observer.fallback(groups[position - 1]?.model ?? plan.primary.model, group.model);
    }
    last = await tryGroup(deps, group, call, attempts);
    if ("opened" in last) return last;
    const action = actionFor(last.error, deps.maxRetryWaitMs);
    if (call.requestDeadline.signal.aborted) break;
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
async function tryGroup<T>(
  deps: PlanDeps,
  group: ModelGroup,
  call: PlanCall<T>,
  attempts: { count: number },
): Promise<PlanOutcome<T>> {
  const order = orderDeployments(group.deployments, deps.health, deps.now(), deps.random);
  const skipped = new Set<string>();
  let retriesLeft = deps.maxRetries;
  let lastError: ProxyError | undefined;
  for (let turn = 0; skipped.size < order.length; turn++) {
    const deployment = order[turn % order.length];
    if (deployment === undefined || skipped.has(deployment.key)) continue;
    const adapter = deps.adapters.get(deployment.provider);
    if (adapter === undefined) {
      skipped.add(deployment.key);
      continue;
    }
    if (deps.health.stateOf(deployment.key, deps.now()) === "probe-ready")
      deps.health.beginProbe(deployment.key);
    attempts.count += 1;
    const observer = call.observer;
    observer.attemptStarted({
      number: attempts.count,
      provider: deployment.provider,
      upstreamModel: deployment.upstreamModel,
    });
    try {
      const opened = await call.open(adapter, deployment, observer.upstreamCall?.());
      observer.firstChunk();
      return { opened, provider: deployment.provider, upstreamModel: deployment.upstreamModel };
    } catch (error) {
      lastError = failureOf(error, call.clientSignal, call.requestDeadline.signal);
      if (blamesDeployment(lastError)) deps.health.recordFailure(deployment.key, deps.now());
      const action = actionFor(lastError, deps.maxRetryWaitMs);
      observer.attemptFailed(lastError);
      call.log.warn(
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
      if (call.requestDeadline.signal.aborted || action === "stop") return { error: lastError };
      if (action === "skip-deployment") skipped.add(deployment.key);
      else if (retriesLeft-- <= 0) return { error: lastError };
      else if (nextDeployment(order, skipped, turn)?.key === deployment.key) {
        // Back off only before hitting the same deployment again; another one is tried at once.
        await waitBeforeRetry(
          deps,
          deps.maxRetries - retriesLeft - 1,
          lastError,
          call.requestDeadline.signal,
        );
      }
    }
  }
  return {
    error: lastError ?? new ProxyError("configuration", `Model '${group.model}' has no usable deployment.`),
  };
}

async function waitBeforeRetry(
  deps: PlanDeps,
  retry: number,
  error: ProxyError,
  signal: AbortSignal,
): Promise<void> {
  try {
    await sleep(retryDelayMs(retry, error.retryAfterMs, deps.random), undefined, { signal });
  } catch {
    // Aborted while waiting: the caller sees requestDeadline aborted and reports why.
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

/** Reports a request that failed before any answer was handed to the edge; returns the error for throwing. */
export function failedBeforeStream(observer: RequestObserver, error: unknown): unknown {
  observer.finished(ProxyError.from(error), false);
  return error;
}

/** The answer to a model no route knows. */
export function modelNotFound(model: string): ProxyError {
  return new ProxyError("model_not_found", `The model '${model}' does not exist on this gateway.`, {
    param: "model",
    code: "model_not_found",
  });
}

function errorOf<T>(outcome: PlanOutcome<T> | undefined): ProxyError | undefined {
  return outcome !== undefined && "error" in outcome ? outcome.error : undefined;
}
