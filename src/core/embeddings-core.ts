/**
 * The core's embeddings call: the same route plan, retries, fallbacks, cooldowns, budget and observer as chat
 * (./route-plan.ts), with one whole answer per attempt instead of a stream. An attempt is bounded by the
 * first-token timeout (its answer is its first and last token) and the request by `proxy.timeout`.
 */
import type { ProviderAdapter } from "../providers/types.ts";
import type { Deployment, RoutePlan } from "../routing/router.ts";
import type { CoreState } from "./chat-core.ts";
import type { CallOptions } from "./chat-stream.ts";
import { createDeadline, type Deadline, failureOf } from "./deadline.ts";
import type { EmbeddingsAnswer, EmbeddingsRequest, EmbeddingsResult } from "./embeddings-types.ts";
import { ProxyError } from "./errors.ts";
import { checkExtraBody } from "./extra-body.ts";
import { UNOBSERVED, type UpstreamCallObserver } from "./observer.ts";
import { failedBeforeStream, modelNotFound, runPlan } from "./route-plan.ts";

/** OpenAI's own cap on inputs per request: the default of `proxy.max_embedding_inputs`. */
export const DEFAULT_MAX_EMBEDDING_INPUTS = 2048;

/** Routes and attempts an embeddings request; rejects with ProxyError. */
export async function embed(
  state: CoreState,
  request: EmbeddingsRequest,
  options: CallOptions,
): Promise<EmbeddingsResult> {
  const observer = options.observer ?? UNOBSERVED;
  observer.requestStarted({ operation: "embeddings", request, requestId: options.requestId, stream: false });
  const plan = state.deps.router.resolve(request.model);
  try {
    checkExtraBody(request.extraBody);
    checkInputs(request, state.deps.maxEmbeddingInputs ?? DEFAULT_MAX_EMBEDDING_INPUTS);
    if (plan === undefined) throw modelNotFound(request.model);
    checkServesEmbeddings(state, plan, request.model);
  } catch (error) {
    throw failedBeforeStream(observer, error);
  }
  const requestDeadline = createDeadline(options.signal);
  requestDeadline.arm(
    state.deps.timeoutMs,
    () => new ProxyError("timeout", "The request exceeded proxy.timeout.", { retryable: false }),
  );
  const attempts = { count: 0 };
  try {
    const call = {
      log: options.log,
      clientSignal: options.signal,
      requestDeadline,
      observer,
      open: (
        adapter: ProviderAdapter,
        deployment: Deployment,
        upstreamCall: UpstreamCallObserver | undefined,
      ) => attemptEmbeddings(state, adapter, deployment, request, options, requestDeadline, upstreamCall),
    };
    const outcome = await runPlan<EmbeddingsAnswer>(state.plan, plan, call, attempts);
    if ("error" in outcome) throw outcome.error;
    const usage = outcome.opened.usage;
    if (usage !== undefined) observer.usage({ ...usage, completionTokens: 0 });
    observer.finished(undefined, true);
    return {
      model: request.model,
      vectors: outcome.opened.vectors,
      usage: usage ?? { promptTokens: 0, totalTokens: 0 },
      served: { provider: outcome.provider, upstreamModel: outcome.upstreamModel, attempts: attempts.count },
    };
  } catch (error) {
    throw failedBeforeStream(observer, error);
  } finally {
    requestDeadline.dispose();
  }
}

/** One attempt at one deployment: the adapter's whole answer, checked to hold one vector per input. */
async function attemptEmbeddings(
  state: CoreState,
  adapter: ProviderAdapter,
  deployment: Deployment,
  request: EmbeddingsRequest,
  options: CallOptions,
  requestDeadline: Deadline,
  upstreamCall: UpstreamCallObserver | undefined,
): Promise<EmbeddingsAnswer> {
  if (adapter.embed === undefined) {
    // A model group mixing providers with and without embeddings: this deployment cannot serve, others may.
    throw new ProxyError("configuration", noEmbeddingsMessage(request.model, adapter));
  }
  const attemptDeadline = createDeadline(requestDeadline);
  const seconds = Math.round(state.deps.firstTokenTimeoutMs / 100) / 10;
  attemptDeadline.arm(
    state.deps.firstTokenTimeoutMs,
    () => new ProxyError("timeout", `No response from the upstream within ${seconds} s.`),
  );
  try {
    const answer = await adapter.embed(request, {
      upstreamModel: deployment.upstreamModel,
      signal: attemptDeadline.signal,
      transport: state.transport,
      log: options.log,
      requestId: options.requestId,
      now: state.now,
      generateId: state.generateId,
      upstreamCall,
    });
    if (answer.vectors.length !== request.inputs.length) {
      throw new ProxyError(
        "bad_upstream_response",
        `The upstream answered ${answer.vectors.length} embeddings for ${request.inputs.length} inputs.`,
      );
    }
    state.health.recordSuccess(deployment.key);
    return answer;
  } catch (error) {
    throw failureOf(error, options.signal, attemptDeadline.signal);
  } finally {
    attemptDeadline.dispose();
  }
}

/** What every edge would otherwise check on its own: inputs present, within the cap, and not empty. */
function checkInputs(request: EmbeddingsRequest, maxInputs: number): void {
  const count = request.inputs.length;
  if (count === 0) throw invalid("input", "'input' must hold at least one text or token list.");
  if (count > maxInputs) {
    throw invalid(
      "input",
      `'input' holds ${count} items; this gateway embeds at most ${maxInputs} per request (proxy.max_embedding_inputs).`,
    );
  }
  for (const [index, input] of request.inputs.entries()) {
    if (input.length === 0) throw invalid("input", `'input[${index}]' is empty: there is nothing to embed.`);
    if (typeof input !== "string" && !input.every((token) => Number.isInteger(token) && token >= 0)) {
      throw invalid("input", `'input[${index}]' must be a list of token ids (integers ≥ 0).`);
    }
  }
  const dimensions = request.dimensions;
  if (dimensions !== undefined && !(Number.isInteger(dimensions) && dimensions > 0)) {
    throw invalid("dimensions", "'dimensions' must be a positive integer.");
  }
}

/** A model none of whose primary deployments can embed is the client's mistake: 400, saying why. */
function checkServesEmbeddings(state: CoreState, plan: RoutePlan, model: string): void {
  const adapters = plan.primary.deployments.map((deployment) => state.deps.adapters.get(deployment.provider));
  if (adapters.some((adapter) => adapter?.embed !== undefined)) return;
  const adapter = adapters[0];
  throw new ProxyError(
    "invalid_request",
    adapter === undefined
      ? `The model '${model}' does not support embeddings.`
      : noEmbeddingsMessage(model, adapter),
    { param: "model", code: "model_not_supported" },
  );
}

function noEmbeddingsMessage(model: string, adapter: ProviderAdapter): string {
  return (
    `The model '${model}' does not support embeddings: its provider '${adapter.name}' speaks the ` +
    `${adapter.type} API, which has no embeddings endpoint.`
  );
}

function invalid(param: string, message: string): ProxyError {
  return new ProxyError("invalid_request", message, { param });
}
