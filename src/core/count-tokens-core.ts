/**
 * The core's token count (the Messages edge's count_tokens): the vendor's own count from the first deployment of
 * the route plan whose adapter can count, with the same retries, fallbacks, cooldowns and budget as chat; no
 * model is called, so nothing is reported to the request's observers. Undefined when the deployment that would
 * serve the request has no count endpoint (any type but Anthropic): the edge then estimates.
 */
import type { ProviderAdapter } from "../providers/types.ts";
import type { Deployment } from "../routing/router.ts";
import type { CoreState } from "./chat-core.ts";
import type { CallOptions } from "./chat-stream.ts";
import { createDeadline, failureOf } from "./deadline.ts";
import { ProxyError } from "./errors.ts";
import { UNOBSERVED } from "./observer.ts";
import { modelNotFound, runPlan } from "./route-plan.ts";
import type { ChatRequest } from "./types.ts";

/** Counts `request`'s input tokens at its vendor; rejects with ProxyError. */
export async function countTokens(
  state: CoreState,
  request: ChatRequest,
  options: CallOptions,
): Promise<number | undefined> {
  const plan = state.deps.router.resolve(request.model);
  if (plan === undefined) throw modelNotFound(request.model);
  const requestDeadline = createDeadline(options.signal);
  requestDeadline.arm(
    state.deps.timeoutMs,
    () => new ProxyError("timeout", "The request exceeded proxy.timeout.", { retryable: false }),
  );
  try {
    const call = {
      log: options.log,
      clientSignal: options.signal,
      requestDeadline,
      observer: UNOBSERVED,
      open: (adapter: ProviderAdapter, deployment: Deployment) =>
        attemptCount(state, adapter, deployment, request, options, requestDeadline.signal),
    };
    const outcome = await runPlan<number | undefined>(state.plan, plan, call, { count: 0 });
    if ("error" in outcome) throw outcome.error;
    return outcome.opened;
  } finally {
    requestDeadline.dispose();
  }
}

async function attemptCount(
  state: CoreState,
  adapter: ProviderAdapter,
  deployment: Deployment,
  request: ChatRequest,
  options: CallOptions,
  signal: AbortSignal,
): Promise<number | undefined> {
  if (adapter.countTokens === undefined) return undefined;
  try {
    const count = await adapter.countTokens(request, {
      upstreamModel: deployment.upstreamModel,
      signal,
      transport: state.transport,
      log: options.log,
      requestId: options.requestId,
      now: state.now,
      generateId: state.generateId,
    });
    state.health.recordSuccess(deployment.key);
    return count;
  } catch (error) {
    throw failureOf(error, options.signal, signal);
  }
}
