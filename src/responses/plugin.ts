/**
 * The OpenAI Responses edge: POST /v1/responses (JSON or SSE), stateless. It decodes into the canonical request,
 * calls the one core (routing, retries, fallbacks, timeouts, every provider type) and encodes the answer as a
 * Response object or the Responses stream's events; errors go out in OpenAI's envelope.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ChatCore } from "../core/chat-stream.ts";
import { CallAborts } from "../edge/call-abort.ts";
import { acceptJsonBodies } from "../edge/json-body.ts";
import { type ModelCallEdge, modelCallHandler } from "../edge/model-call.ts";
import { openAIRouteEdge } from "../edge/openai-route-edge.ts";
import { requestCarriers } from "../edge/reasoning-carrier.ts";
import { toResponse } from "./response-object.ts";
import { ResponsesSseEncoder } from "./sse-encoder.ts";
import { type AnswerPlan, type DecodedResponsesRequest, decodeResponsesRequest } from "./to-canonical.ts";

/** Plugin options: a getter, because a config reload swaps the core (and a client key may narrow it). */
export interface ResponsesPluginOptions {
  readonly getCore: (request: FastifyRequest) => ChatCore;
  /** Aborted (with the error to report) when shutdown ends the calls still in flight (src/shutdown.ts). */
  readonly shutdownSignal?: AbortSignal;
}

/** Names the hosted tools the gateway dropped from the request (it cannot run them). */
export const DROPPED_TOOLS_HEADER = "x-llm-proxy-dropped-tools";

/** Metrics and access lines say `api="responses"`; errors in OpenAI's envelope. */
const RESPONSES_EDGE = openAIRouteEdge("responses", true);
/** The Responses decode and encoders for the kit's model-call route; the answer plan is all a stream keeps. */
const RESPONSES_CALL: ModelCallEdge<DecodedResponsesRequest, AnswerPlan> = {
  decode: (request, reply, core) => {
    const carriers = requestCarriers(core.reasoningSeal, request.log);
    const decoded = decodeResponsesRequest(request.body, core.defaultModel, carriers);
    const dropped = decoded.answer.tools.dropped;
    if (dropped.length > 0) {
      const names = dropped.join(",");
      reply.header(DROPPED_TOOLS_HEADER, names);
      if (request.record !== null) request.record.droppedTools = names;
    }
    return decoded;
  },
  extra: (decoded) => decoded.answer,
  answer: (result, plan) => toResponse(result, plan.echo, plan.tools, plan.seal),
  streamEncoder: (stream, plan) => new ResponsesSseEncoder(stream, plan.echo, plan.tools, plan.seal),
};

/** Registers the route. A sibling of the OpenAI plugin: its parser and hooks stay in its own scope. */
export async function responsesPlugin(app: FastifyInstance, options: ResponsesPluginOptions): Promise<void> {
  acceptJsonBodies(app);
  const aborts = new CallAborts(options.shutdownSignal);

  app.post(
    "/v1/responses",
    { config: { edge: RESPONSES_EDGE } },
    modelCallHandler(RESPONSES_CALL, options.getCore, aborts),
  );
}
