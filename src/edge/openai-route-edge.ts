/**
 * The declaration of routes that answer errors in OpenAI's envelope (./openai-errors.ts), with its status and
 * headers (retry-after, x-should-retry): the chat facade and the Responses API share it, so it lives in the kit.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ProxyError } from "../core/errors.ts";
import { toHttpError } from "./openai-errors.ts";
import type { RouteEdge } from "./route-edge.ts";

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
