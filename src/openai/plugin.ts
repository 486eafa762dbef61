/**
 * The OpenAI-compatible edge: POST /v1/chat/completions (JSON or SSE) and GET /v1/models. It decodes,
 * calls the core, and encodes; routing, retries and providers live in the core.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { CallOptions, ChatCore, ChatStream } from "../core/chat-stream.ts";
import type { ProxyError } from "../core/errors.ts";
import { observeRequest } from "../telemetry/request-lifecycle.ts";
import { OVERHEAD_HEADER, stampCompletion, stampFirstByte } from "../telemetry/request-record.ts";
import { decodeRequestBody } from "./content-encoding.ts";
import { createDisconnectWatcher, type Disconnect } from "./disconnect.ts";
import { createChunkEncoder, toOpenAICompletion } from "./from-canonical.ts";
import { parseJsonBody } from "./json-body.ts";
import { pumpSse } from "./sse-pump.ts";
import { type RawResponse, startSse } from "./sse-writer.ts";
import { decodeChatCompletion } from "./to-canonical.ts";

/** Plugin options: a getter, because a config reload swaps the core (and a client key may narrow it). */
export interface OpenAIPluginOptions {
  readonly getCore: (request: FastifyRequest) => ChatCore;
  /** Aborted (with the error to report) when shutdown ends the calls still in flight (src/shutdown.ts). */
  readonly shutdownSignal?: AbortSignal;
}

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** Registers the facade routes. Keep it a sibling of the Connect plugin (which replaces the JSON parser). */
export async function openAIPlugin(app: FastifyInstance, options: OpenAIPluginOptions): Promise<void> {
  // Many clients (curl -d, some SDK wrappers) omit or mislabel the content type: the body is JSON regardless.
  app.removeAllContentTypeParsers();
  // Compressed bodies (Content-Encoding) are decoded before the parser, their decoded size held to body_limit.
  app.addHook("preParsing", decodeRequestBody);
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (error) {
      done(error as ProxyError);
    }
  });

  app.get("/v1/models", async (request) => ({
    object: "list",
    data: options
      .getCore(request)
      .listModels()
      .map((model) => ({
        id: model.id,
        object: "model",
        created: 0,
        owned_by: model.ownedBy,
      })),
  }));

  const watchDisconnect = createDisconnectWatcher(options.shutdownSignal);

  /**
   * Decodes and calls the core: answers a non-streaming call, or returns the opened stream. Kept apart from the
   * handler so that neither the parsed body nor the decoded request (the whole prompt) stays referenced while
   * the answer streams: the handler's frame lives until the last chunk.
   */
  async function start(request: FastifyRequest, reply: FastifyReply): Promise<OpenedSse | undefined> {
    const core = options.getCore(request);
    const { request: chatRequest, stream } = decodeChatCompletion(request.body, core.defaultModel);
    request.body = undefined;
    const disconnect = watchDisconnect(reply);
    const callOptions: CallOptions = {
      signal: disconnect.signal,
      log: request.log,
      requestId: request.id,
      observer: observeRequest(request.record),
    };
    if (!stream) {
      const result = await core.complete(chatRequest, callOptions).catch(disconnect.rethrow);
      disconnect.markEnded();
      setOverheadHeader(reply, stampCompletion(request.record));
      // Serialized here, so Fastify sends the string as is.
      reply.type(JSON_CONTENT_TYPE).send(JSON.stringify(toOpenAICompletion(result)));
      return undefined;
    }
    const opened = await core.openStream(chatRequest, callOptions).catch(disconnect.rethrow);
    setOverheadHeader(reply, stampFirstByte(request.record));
    return { stream: opened, includeUsage: chatRequest.includeUsage, disconnect };
  }

  app.post("/v1/chat/completions", async (request, reply) => {
    const opened = await start(request, reply);
    if (opened === undefined) return reply;
    reply.hijack();
    const raw: RawResponse = reply.raw;
    startSse(raw, stringHeaders(reply));
    const encoder = createChunkEncoder(opened.stream, opened.includeUsage);
    await pumpSse(raw, opened.stream, encoder, opened.disconnect, request.log);
    return reply;
  });
}

/** A streaming call whose first chunk has arrived. */
interface OpenedSse {
  readonly stream: ChatStream;
  readonly includeUsage: boolean;
  readonly disconnect: Disconnect;
}

/** The gateway's own time (src/telemetry/request-record.ts), when the request reached an upstream. */
function setOverheadHeader(reply: FastifyReply, milliseconds: string | undefined): void {
  if (milliseconds !== undefined) reply.header(OVERHEAD_HEADER, milliseconds);
}

function stringHeaders(reply: FastifyReply): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (typeof value === "string") headers[name] = value;
    else if (typeof value === "number") headers[name] = String(value);
  }
  return headers;
}
