/**
 * The OpenAI Responses edge: POST /v1/responses (JSON or SSE), stateless. It decodes into the canonical request,
 * calls the one core (routing, retries, fallbacks, timeouts, every provider type) and encodes the answer as a
 * Response object or the Responses stream's events; errors go out in OpenAI's envelope.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ChatCore, ChatStream } from "../core/chat-stream.ts";
import type { ChatResult } from "../core/types.ts";
import { type CallAbort, CallAborts } from "../edge/call-abort.ts";
import { callOptionsOf } from "../edge/call-options.ts";
import { logFailure } from "../edge/failure-log.ts";
import { acceptJsonBodies } from "../edge/json-body.ts";
import { toHttpError } from "../edge/openai-errors.ts";
import { openAIRouteEdge } from "../edge/openai-route-edge.ts";
import { stampAnswer, stampStreamStart } from "../edge/overhead.ts";
import { endFailedStream, pumpStream } from "../edge/pump.ts";
import { replyHeaders } from "../edge/response-headers.ts";
import { type SseResponse, startSse } from "../edge/sse.ts";
import { toResponse } from "./response-object.ts";
import { ResponsesSseEncoder } from "./sse-encoder.ts";
import { decodeResponsesRequest, type ResponseEcho } from "./to-canonical.ts";
import type { ToolPlan } from "./tools.ts";

/** Plugin options: a getter, because a config reload swaps the core (and a client key may narrow it). */
export interface ResponsesPluginOptions {
  readonly getCore: (request: FastifyRequest) => ChatCore;
  /** Aborted (with the error to report) when shutdown ends the calls still in flight (src/shutdown.ts). */
  readonly shutdownSignal?: AbortSignal;
}

/** Names the hosted tools the gateway dropped from the request (it cannot run them). */
export const DROPPED_TOOLS_HEADER = "x-llm-proxy-dropped-tools";

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
/** Metrics and access lines say `api="responses"`; errors in OpenAI's envelope. */
const RESPONSES_EDGE = openAIRouteEdge("responses", true);

/** Registers the route. A sibling of the OpenAI plugin: its parser and hooks stay in its own scope. */
export async function responsesPlugin(app: FastifyInstance, options: ResponsesPluginOptions): Promise<void> {
  acceptJsonBodies(app);
  const aborts = new CallAborts(options.shutdownSignal);

  /**
   * Decodes and calls the core: answers a non-streaming call, or returns the opened stream; kept apart from the
   * handler so the parsed body and the decoded prompt are not referenced while the answer streams.
   */
  async function start(request: FastifyRequest, reply: FastifyReply): Promise<OpenedStream | undefined> {
    const core = options.getCore(request);
    const decoded = decodeResponsesRequest(request.body, core.defaultModel);
    request.body = undefined;
    if (decoded.tools.dropped.length > 0) {
      const dropped = decoded.tools.dropped.join(",");
      reply.header(DROPPED_TOOLS_HEADER, dropped);
      if (request.record !== null) request.record.droppedTools = dropped;
    }
    const call = aborts.watch(reply.raw);
    const callOptions = callOptionsOf(request, call.signal);
    if (!decoded.stream) {
      let result: ChatResult;
      try {
        result = await core.complete(decoded.request, callOptions);
      } catch (error) {
        throw call.failure(error);
      } finally {
        call.end();
      }
      stampAnswer(reply, request.record);
      reply.type(JSON_CONTENT_TYPE).send(JSON.stringify(toResponse(result, decoded.echo, decoded.tools)));
      return undefined;
    }
    let opened: ChatStream;
    try {
      opened = await core.openStream(decoded.request, callOptions);
    } catch (error) {
      call.end();
      throw call.failure(error);
    }
    stampStreamStart(reply, request.record);
    return { stream: opened, call, echo: decoded.echo, tools: decoded.tools };
  }

  app.post("/v1/responses", { config: { edge: RESPONSES_EDGE } }, async (request, reply) => {
    const opened = await start(request, reply);
    if (opened === undefined) return reply;
    reply.hijack();
    const raw: SseResponse = reply.raw;
    startSse(raw, replyHeaders(reply));
    await pumpResponses(raw, opened, request);
    return reply;
  });
}

/** A streaming call whose first chunk has arrived, and what its events need from the request. */
interface OpenedStream {
  readonly stream: ChatStream;
  readonly call: CallAbort;
  readonly echo: ResponseEcho;
  readonly tools: ToolPlan;
}

/** Pumps the stream as Responses events; a failure after the start ends it with `response.failed`. */
async function pumpResponses(raw: SseResponse, opened: OpenedStream, request: FastifyRequest): Promise<void> {
  const { stream, call } = opened;
  const encoder = new ResponsesSseEncoder(stream, opened.echo, opened.tools);
  try {
    await pumpStream(raw, stream, (batch) => encoder.encode(batch), encoder.opening());
    call.end();
    raw.end(encoder.finish());
  } catch (error) {
    const failure = call.failure(error);
    call.end();
    if (failure.kind === "cancelled") {
      request.log.info("client disconnected during the stream");
      raw.destroy();
      return;
    }
    logFailure(request.log, failure.cause ?? failure, failure, "stream failed after start");
    endFailedStream(raw, () => raw.end(encoder.fail(toHttpError(failure).body.error)));
  }
}
