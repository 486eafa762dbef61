/**
 * The Anthropic Messages edge: POST /v1/messages (JSON or SSE with `event:` lines) and
 * POST /v1/messages/count_tokens, for Claude Code and the Anthropic SDKs, on every provider type. It decodes into
 * the canonical request (with the client's own body as its `native` value for Anthropic upstreams), calls the one
 * core, and encodes; keys, limits, retries, fallbacks, metrics (`api="messages"`) and traces come with the core
 * and the edge kit. Query strings such as Claude Code's `?beta=true` match the same routes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ChatCore, ChatStream } from "../core/chat-stream.ts";
import { ProxyError } from "../core/errors.ts";
import { type CallAbort, CallAborts } from "../edge/call-abort.ts";
import { callOptionsOf } from "../edge/call-options.ts";
import { logFailure } from "../edge/failure-log.ts";
import { acceptJsonBodies } from "../edge/json-body.ts";
import { stampAnswer, stampStreamStart } from "../edge/overhead.ts";
import { endFailedStream, pumpStream } from "../edge/pump.ts";
import { replyHeaders } from "../edge/response-headers.ts";
import { type SseResponse, startSse } from "../edge/sse.ts";
import { estimateInputTokens } from "./count-tokens.ts";
import { messagesRouteEdge, toAnthropicError } from "./errors.ts";
import { toAnthropicMessage } from "./from-canonical.ts";
import { errorEvent, MessagesEncoder } from "./sse-encoder.ts";
import { decodeCountTokens, decodeMessages } from "./to-canonical.ts";

/** Plugin options: a getter, because a config reload swaps the core (and a client key may narrow it). */
export interface MessagesPluginOptions {
  readonly getCore: (request: FastifyRequest) => ChatCore;
  /** Aborted (with the error to report) when shutdown ends the calls still in flight (src/shutdown.ts). */
  readonly shutdownSignal?: AbortSignal;
}

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
const MESSAGES_EDGE = messagesRouteEdge("messages", true);
const COUNT_EDGE = messagesRouteEdge("messages", false);

/** Registers the routes. A sibling of the OpenAI plugin: its parser and hooks stay in its own scope. */
export async function messagesPlugin(app: FastifyInstance, options: MessagesPluginOptions): Promise<void> {
  acceptJsonBodies(app);
  const aborts = new CallAborts(options.shutdownSignal);

  /**
   * Decodes and calls the core: answers a non-streaming call, or returns the opened stream; kept apart from the
   * handler so the parsed body and the decoded prompt are not referenced while the answer streams.
   */
  async function start(request: FastifyRequest, reply: FastifyReply): Promise<OpenedStream | undefined> {
    const core = options.getCore(request);
    const { request: chatRequest, stream } = decodeMessages(request.body, request.headers);
    request.body = undefined;
    const call = aborts.watch(reply.raw);
    const callOptions = callOptionsOf(request, call.signal);
    if (!stream) {
      let result: Awaited<ReturnType<ChatCore["complete"]>>;
      try {
        result = await core.complete(chatRequest, callOptions);
      } catch (error) {
        throw call.failure(error);
      } finally {
        call.end();
      }
      stampAnswer(reply, request.record);
      reply.type(JSON_CONTENT_TYPE).send(JSON.stringify(toAnthropicMessage(result)));
      return undefined;
    }
    let opened: ChatStream;
    try {
      opened = await core.openStream(chatRequest, callOptions);
    } catch (error) {
      call.end();
      throw call.failure(error);
    }
    stampStreamStart(reply, request.record);
    return { stream: opened, call };
  }

  app.post("/v1/messages", { config: { edge: MESSAGES_EDGE } }, async (request, reply) => {
    const opened = await start(request, reply);
    if (opened === undefined) return reply;
    reply.hijack();
    const raw: SseResponse = reply.raw;
    startSse(raw, replyHeaders(reply));
    await pumpMessages(raw, opened, request);
    return reply;
  });

  app.post("/v1/messages/count_tokens", { config: { edge: COUNT_EDGE } }, async (request, reply) => {
    const decoded = decodeCountTokens(request.body, request.headers);
    request.body = undefined;
    const core = options.getCore(request);
    const call = aborts.watch(reply.raw);
    let counted: number | undefined;
    try {
      counted = await core.countTokens?.(decoded.request, callOptionsOf(request, call.signal));
    } catch (error) {
      throw call.failure(error);
    } finally {
      call.end();
    }
    // The model must exist for the key (checked by the core) even when its vendor cannot count.
    if (counted === undefined && !core.listModels().some((model) => model.id === decoded.request.model)) {
      throw new ProxyError("model_not_found", `model: ${decoded.request.model}`, { param: "model" });
    }
    const inputTokens = counted ?? estimateInputTokens(decoded.body);
    return reply.type(JSON_CONTENT_TYPE).send({ input_tokens: inputTokens });
  });
}

/** A streaming call whose first chunk has arrived. */
interface OpenedStream {
  readonly stream: ChatStream;
  readonly call: CallAbort;
}

/** Pumps the stream as Anthropic's events; a failure after the start is an `event: error`. */
async function pumpMessages(raw: SseResponse, opened: OpenedStream, request: FastifyRequest): Promise<void> {
  const { stream, call } = opened;
  const encoder = new MessagesEncoder(stream);
  try {
    await pumpStream(raw, stream, encoder.encode, encoder.opening());
    call.end();
    raw.end(encoder.ending());
  } catch (error) {
    const failure = call.failure(error);
    call.end();
    if (failure.kind === "cancelled") {
      request.log.info("client disconnected during the stream");
      raw.destroy();
      return;
    }
    logFailure(request.log, failure.cause ?? failure, failure, "stream failed after start");
    endFailedStream(raw, () => raw.end(errorEvent(toAnthropicError(failure).body)));
  }
}
