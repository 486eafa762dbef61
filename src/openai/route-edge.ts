/**
 * The OpenAI edge's declaration for the shared server parts (src/edge/route-edge.ts): errors go out in OpenAI's
 * envelope (./errors.ts) with its status and headers (retry-after, x-should-retry).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ProxyError } from "../core/errors.ts";
import type { RouteEdge } from "../edge/route-edge.ts";
import { toHttpError } from "./errors.ts";

/** Sends `error` as OpenAI's error JSON; `status` overrides the kind's (404 for an unknown path). */
export function writeOpenAIError(
  _request: FastifyRequest,
  reply: FastifyReply,
  error: ProxyError,
  status?: number,
): FastifyReply {
  const http = toHttpError(error);
  return reply
    .status(status ?? http.status)
    .headers(http.headers)
    .send(http.body);
}

/** The declaration of OpenAI-shaped routes labelled `api`; `modelCall` for routes that call a model. */
export function openAIRouteEdge(api: string, modelCall: boolean): RouteEdge {
  return { api, modelCall, rpc: false, writeError: writeOpenAIError };
}
