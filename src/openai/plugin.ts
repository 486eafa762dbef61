/**
 * The OpenAI-compatible edge: POST /v1/chat/completions (JSON or SSE) and GET /v1/models. It decodes,
 * calls the core, and encodes; routing, retries and providers live in the core.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { CallOptions, ChatCore, ChatStream } from "../core/chat-stream.ts";
import { ProxyError } from "../core/errors.ts";
import { toHttpError } from "./errors.ts";
import { createChunkEncoder, toOpenAICompletion } from "./from-canonical.ts";
import { endSse, failSse, type RawResponse, startSse, writeSseData } from "./sse-writer.ts";
import { decodeChatCompletion } from "./to-canonical.ts";

/** Plugin options: a getter, because a config reload swaps the core. */
export interface OpenAIPluginOptions {
  readonly getCore: () => ChatCore;
}

/** Registers the facade routes. Keep it a sibling of the Connect plugin (which replaces the JSON parser). */
export async function openAIPlugin(app: FastifyInstance, options: OpenAIPluginOptions): Promise<void> {
  // Many clients (curl -d, some SDK wrappers) omit or mislabel the content type: the body is JSON regardless.
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new ProxyError("invalid_request", "We could not parse the JSON body of your request."));
    }
  });

  app.get("/v1/models", async () => ({
    object: "list",
    data: options
      .getCore()
      .listModels()
      .map((model) => ({
        id: model.id,
        object: "model",
        created: 0,
        owned_by: model.ownedBy,
      })),
  }));

  app.post("/v1/chat/completions", async (request, reply) => {
    const core = options.getCore();
    const { request: chatRequest, stream } = decodeChatCompletion(request.body, core.defaultModel);
    const disconnect = watchDisconnect(reply);
    const callOptions: CallOptions = { signal: disconnect.signal, log: request.log, requestId: request.id };
    if (!stream) {
      const result = await core.complete(chatRequest, callOptions);
      disconnect.markEnded();
      return reply.send(toOpenAICompletion(result));
    }
    const opened = await core.openStream(chatRequest, callOptions);
    reply.hijack();
    await pipeSse(request, reply, opened, chatRequest.includeUsage, disconnect.markEnded);
    return reply;
  });
}

/**
 * Aborts when the client goes away before we finished. Fastify's request.signal and `request.raw` 'close'
 * are unreliable for POST over HTTP/1.1 (platform-notes §4); `reply.raw` 'close' plus our own flag is not.
 */
function watchDisconnect(reply: FastifyReply): { signal: AbortSignal; markEnded: () => void } {
  const controller = new AbortController();
  let ended = false;
  reply.raw.once("close", () => {
    if (!ended) controller.abort(new ProxyError("cancelled", "The client closed the connection."));
  });
  return {
    signal: controller.signal,
    markEnded: () => {
      ended = true;
    },
  };
}

async function pipeSse(
  request: FastifyRequest,
  reply: FastifyReply,
  stream: ChatStream,
  includeUsage: boolean,
  markEnded: () => void,
): Promise<void> {
  const raw: RawResponse = reply.raw;
  const encoder = createChunkEncoder(stream, includeUsage);
  startSse(raw, stringHeaders(reply));
  const startedAt = performance.now();
  try {
    for (const opening of encoder.opening()) await writeSseData(raw, opening);
    for await (const chunk of stream.chunks) {
      const json = encoder.encode(chunk);
      if (json !== undefined) await writeSseData(raw, json);
    }
    markEnded();
    endSse(raw);
    request.log.info({ statusCode: 200, responseTime: performance.now() - startedAt }, "stream completed");
  } catch (error) {
    const proxyError = ProxyError.from(error);
    markEnded();
    if (proxyError.kind === "cancelled") {
      request.log.info("client disconnected during the stream");
      raw.destroy();
      return;
    }
    request.log.error(
      { err: proxyError.cause ?? proxyError, kind: proxyError.kind },
      "stream failed after start",
    );
    failSse(raw, toHttpError(proxyError).body.error);
  } finally {
    // Releases the upstream request and timers even if we stopped before reading the chunks.
    await stream.chunks.return?.();
  }
}

function stringHeaders(reply: FastifyReply): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (typeof value === "string") headers[name] = value;
    else if (typeof value === "number") headers[name] = String(value);
  }
  return headers;
}
