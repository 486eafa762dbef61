/**
 * Per-key limits at the door: an onRequest hook, after authentication, on the routes that call a model (chat,
 * Responses, Messages, embeddings, and the gRPC ChatService and EmbeddingService methods: their edge declares
 * `modelCall`). A request whose key has limits is admitted by the counters or refused with 429 (RESOURCE_EXHAUSTED
 * on RPCs) in its edge's shape; every answer of such a key carries OpenAI's `x-ratelimit-*` headers.
 *
 * The admission is settled once, from the completion listener that observability calls on every ending of the
 * request (success, error, timeout, client disconnect, shutdown): it frees the max_parallel slot and charges the
 * final tokens and cost. Requests of keys without limits pay one check and nothing else; counters in this process's
 * memory answer synchronously (`admitNow`), so a limited key's request costs no promise either.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { principalOf } from "../auth/auth-hook.ts";
import type { Principal } from "../auth/keys.ts";
import { ProxyError } from "../core/errors.ts";
import type { EdgeResolver } from "../edge/route-edge.ts";
import type { RequestCompletion } from "../telemetry/observability.ts";
import type { RequestRecord } from "../telemetry/request-record.ts";
import type { Admission, LimitCounters, LimitedKey } from "./counters.ts";
import { type KeyLimits, limitsAnything } from "./limits.ts";
import { formatReset, writeLimitHeaders } from "./ratelimit-headers.ts";

/** What each limit refuses, in the message. */
const LIMIT_WORDS: Readonly<Record<Extract<Admission, { admitted: false }>["limit"], string>> = {
  rpm: "requests per minute (rpm)",
  tpm: "tokens per minute (tpm)",
  max_parallel: "requests in flight at once (max_parallel)",
  budget_usd: "budget (budget_usd)",
};

export interface LimitGate {
  /** The onRequest hook. */
  readonly onRequest: (request: FastifyRequest, reply: FastifyReply, done: () => void) => void;
  /** The completion listener (observability's `completions`) that settles admitted requests. */
  readonly settle: RequestCompletion;
}

interface Held {
  readonly key: LimitedKey;
  readonly ticket: string;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The admission a limited key's request holds until it settles (a field, not a WeakMap: no ephemeron). */
    limitHold: Held | null;
  }
}

/** A principal whose limits limit something is itself the counters' key (its id and limits). */
function isLimited(principal: Principal | undefined): principal is Principal & LimitedKey {
  return principal !== undefined && limitsAnything(principal.limits);
}

/** The gate over `counters`; `now` is the clock the windows run on (epoch ms). */
export function createLimitGate(
  counters: LimitCounters,
  edgeOf: EdgeResolver,
  now: () => number = Date.now,
): LimitGate {
  const settleHeld = (request: FastifyRequest, record: RequestRecord): void => {
    const held = request.limitHold;
    if (held === null) return;
    request.limitHold = null;
    counters.settle(
      held.key,
      held.ticket,
      { tokens: (record.inputTokens ?? 0) + (record.outputTokens ?? 0), costUsd: record.costUsd ?? 0 },
      now(),
    );
  };

  const answer = (
    request: FastifyRequest,
    reply: FastifyReply,
    done: () => void,
    record: RequestRecord,
    key: LimitedKey,
    admission: Admission,
  ): void => {
    writeLimitHeaders(admission.state, (name, value) => reply.header(name, value));
    if (!admission.admitted) {
      refuse(request, reply, record, admission, key.limits);
      return;
    }
    request.limitHold = { key, ticket: admission.ticket };
    // The client may have gone while the counters answered: its completion has run, so settle here.
    if (record.completed) settleHeld(request, record);
    done();
  };

  const onRequest = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const record = request.record;
    const principal = record?.modelCall === true ? principalOf(request) : undefined;
    if (record === null || !isLimited(principal)) {
      done();
      return;
    }
    const at = now();
    const immediate = counters.admitNow?.(principal, at);
    if (immediate !== undefined) {
      answer(request, reply, done, record, principal, immediate);
      return;
    }
    counters.admit(principal, at).then(
      (admission) => answer(request, reply, done, record, principal, admission),
      (error: unknown) => {
        // A refusal the counters chose (Redis unreachable with store.fail_mode: closed): in the edge's shape.
        if (error instanceof ProxyError) {
          record.errorKind = error.kind;
          edgeOf(request).writeError(request, reply, error);
          return;
        }
        // The counters' home is unreachable: serve rather than refuse every limited key (the failure is logged).
        request.log.error({ err: error }, "limit counters failed; request admitted unchecked");
        done();
      },
    );
  };

  const refuse = (
    request: FastifyRequest,
    reply: FastifyReply,
    record: RequestRecord,
    admission: Extract<Admission, { admitted: false }>,
    limits: KeyLimits,
  ): void => {
    record.errorKind = "limit_exceeded";
    const wait = admission.retryAfterSeconds;
    const error = new ProxyError("limit_exceeded", refusalMessage(admission, limits), {
      code: admission.code,
      retryAfterMs: wait === undefined ? undefined : wait * 1000,
      // Waiting out a budget period is not what a client's retry loop is for.
      retryable: admission.code === "rate_limit_exceeded",
    });
    const edge = edgeOf(request);
    // RPC statuses carry no retry headers of their own: the same header as metadata.
    if (edge.rpc && wait !== undefined) reply.header("retry-after", String(wait));
    request.log.info({ limit: admission.limit }, "request refused by a key limit");
    edge.writeError(request, reply, error);
  };

  return {
    onRequest,
    settle: (request, record) => settleHeld(request, record),
  };
}

/** Adds the gate's hook; call it after registerAuth so the key is known. */
export function registerLimitGate(app: FastifyInstance, gate: LimitGate): void {
  app.decorateRequest("limitHold", null);
  app.addHook("onRequest", gate.onRequest);
}

function refusalMessage(admission: Extract<Admission, { admitted: false }>, limits: KeyLimits): string {
  const value =
    admission.limit === "budget_usd"
      ? `${limits.budget_usd} USD ${limits.budget_period === "total" ? "in total" : `per ${limits.budget_period ?? "monthly"} period`}`
      : String(limits[admission.limit]);
  const what = `This API key reached its limit on ${LIMIT_WORDS[admission.limit]}: ${value}.`;
  return admission.retryAfterSeconds === undefined
    ? what
    : `${what} Please try again in ${formatReset(admission.retryAfterSeconds)}.`;
}
