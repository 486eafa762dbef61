/**
 * The Anthropic Messages edge: POST /v1/messages (JSON or SSE with `event:` lines) and
 * POST /v1/messages/count_tokens, for Claude Code and the Anthropic SDKs, on every provider type. It decodes into
 * the canonical request (with the client's own body as its `native` value for Anthropic upstreams), calls the one
 * core, and encodes; keys, limits, retries, fallbacks, metrics (`api="messages"`) and traces come with the core
 * and the edge kit. Query strings such as Claude Code's `?beta=true` match the same routes.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ChatCore } from "../core/chat-stream.ts";
import { ProxyError } from "../core/errors.ts";
import type { ReasoningSeal } from "../core/reasoning-seal.ts";
import { CallAborts } from "../edge/call-abort.ts";
import { callOptionsOf } from "../edge/call-options.ts";
import { acceptJsonBodies } from "../edge/json-body.ts";
import { type ModelCallEdge, modelCallHandler } from "../edge/model-call.ts";
import { requestCarriers } from "../edge/reasoning-carrier.ts";
import { estimateInputTokens } from "./count-tokens.ts";
import { messagesRouteEdge } from "./errors.ts";
import { toAnthropicMessage } from "./from-canonical.ts";
import { MessagesEncoder } from "./sse-encoder.ts";
import { type DecodedMessages, decodeCountTokens, decodeMessages } from "./to-canonical.ts";

/** Plugin options: a getter, because a config reload swaps the core (and a client key may narrow it). */
export interface MessagesPluginOptions {
  readonly getCore: (request: FastifyRequest) => ChatCore;
  /** Aborted (with the error to report) when shutdown ends the calls still in flight (src/shutdown.ts). */
  readonly shutdownSignal?: AbortSignal;
}

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
const MESSAGES_EDGE = messagesRouteEdge("messages", true);
const COUNT_EDGE = messagesRouteEdge("messages", false);
/** Messages' decode and encoders for the kit's model-call route; a stream keeps only the reasoning seal. */
const MESSAGES_CALL: ModelCallEdge<
  DecodedMessages & { readonly seal?: ReasoningSeal },
  ReasoningSeal | undefined
> = {
  decode: (request, _reply, core) => {
    const carriers = requestCarriers(core.reasoningSeal, request.log);
    if (carriers === undefined) return decodeMessages(request.body, request.headers);
    return { ...decodeMessages(request.body, request.headers, carriers), seal: carriers.seal };
  },
  extra: (decoded) => decoded.seal,
  answer: (result, seal) => toAnthropicMessage(result, seal),
  streamEncoder: (stream, seal) => new MessagesEncoder(stream, seal),
};

/** Registers the routes. A sibling of the OpenAI plugin: its parser and hooks stay in its own scope. */
export async function messagesPlugin(app: FastifyInstance, options: MessagesPluginOptions): Promise<void> {
  acceptJsonBodies(app);
  const aborts = new CallAborts(options.shutdownSignal);

  app.post(
    "/v1/messages",
    { config: { edge: MESSAGES_EDGE } },
    modelCallHandler(MESSAGES_CALL, options.getCore, aborts),
  );

  app.post("/v1/messages/count_tokens", { config: { edge: COUNT_EDGE } }, async (request, reply) => {
    const core = options.getCore(request);
    // The carriers too: Anthropic's count would refuse a thinking block it did not sign.
    const carriers = requestCarriers(core.reasoningSeal, request.log);
    const decoded = decodeCountTokens(request.body, request.headers, carriers);
    request.body = undefined;
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
