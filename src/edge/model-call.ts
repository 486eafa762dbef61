/**
 * A JSON-over-HTTP edge's model-call route, the same for every such edge (chat completions, responses, messages):
 * decode (the edge's), watch the call, hand the core its options, then either answer in one JSON body or open the
 * stream and pump it as SSE with the edge's encoder; the overhead stamp, the ending and the failure event in the
 * edge's shape. The edge gives only its decode and its encoders, as one module constant (nothing per request).
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from "fastify";
import type { ChatCore, ChatStream } from "../core/chat-stream.ts";
import type { ProxyError } from "../core/errors.ts";
import type { ChatRequest, ChatResult } from "../core/types.ts";
import type { CallAbort, CallAborts } from "./call-abort.ts";
import { callOptionsOf } from "./call-options.ts";
import { logFailure } from "./failure-log.ts";
import { stampAnswer, stampStreamStart } from "./overhead.ts";
import { type BatchEncoder, endFailedStream, pumpStream } from "./pump.ts";
import { replyHeaders } from "./response-headers.ts";
import { type SseResponse, startSse } from "./sse.ts";

/** What an edge's decoder gives: the canonical request and whether the client asked for a stream. */
export interface DecodedCall {
  readonly request: ChatRequest;
  readonly stream: boolean;
}

/** One stream's SSE encoder: `opening()`, `encode` per batch, then `ending()` or, after a failure, `fail()`. */
export interface SseCallEncoder {
  opening(): string;
  /** Called unbound by the pump. */
  readonly encode: BatchEncoder<string>;
  ending(): string;
  fail(failure: ProxyError): string;
}

/** An edge's part of a model-call route. */
export interface ModelCallEdge<Decoded extends DecodedCall, Extra> {
  /** Decodes the body (and may set reply headers); throws a ProxyError on a bad request. */
  decode(request: FastifyRequest, reply: FastifyReply, core: ChatCore): Decoded;
  /** What the encoders need from the decoded request: kept while the answer streams, unlike the prompt. */
  extra(decoded: Decoded): Extra;
  /** The whole answer's JSON body. */
  answer(result: ChatResult, extra: Extra): unknown;
  streamEncoder(stream: ChatStream, extra: Extra): SseCallEncoder;
}

/** A streaming call whose first chunk has arrived. */
interface OpenedCall<Extra> {
  readonly stream: ChatStream;
  readonly call: CallAbort;
  readonly extra: Extra;
}

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** The route handler of `edge`'s model call. */
export function modelCallHandler<Decoded extends DecodedCall, Extra>(
  edge: ModelCallEdge<Decoded, Extra>,
  getCore: (request: FastifyRequest) => ChatCore,
  aborts: CallAborts,
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  return async (request, reply) => {
    const opened = await startModelCall(edge, getCore(request), aborts, request, reply);
    if (opened === undefined) return reply;
    reply.hijack();
    const raw: SseResponse = reply.raw;
    startSse(raw, replyHeaders(reply));
    await pumpSseCall(raw, opened, edge.streamEncoder(opened.stream, opened.extra), request.log);
    return reply;
  };
}

/**
 * Decodes and calls the core: answers a non-streaming call, or returns the opened stream. Kept apart from the
 * handler so that neither the parsed body nor the decoded request (the whole prompt) stays referenced while
 * the answer streams: the handler's frame lives until the last chunk.
 */
async function startModelCall<Decoded extends DecodedCall, Extra>(
  edge: ModelCallEdge<Decoded, Extra>,
  core: ChatCore,
  aborts: CallAborts,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<OpenedCall<Extra> | undefined> {
  const decoded = edge.decode(request, reply, core);
  request.body = undefined;
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
    // Serialized here, so Fastify sends the string as is.
    reply.type(JSON_CONTENT_TYPE).send(JSON.stringify(edge.answer(result, edge.extra(decoded))));
    return undefined;
  }
  let stream: ChatStream;
  try {
    stream = await core.openStream(decoded.request, callOptions);
  } catch (error) {
    call.end();
    throw call.failure(error);
  }
  stampStreamStart(reply, request.record);
  return { stream, call, extra: edge.extra(decoded) };
}

/**
 * Pumps the opened stream to `raw`, whose SSE head is sent; `call` ends when the stream does. After a failure:
 * nothing when the client left (the socket is destroyed), else the edge's failure event. Whatever happens, the
 * stream is released before the returned promise settles.
 */
async function pumpSseCall<Extra>(
  raw: SseResponse,
  opened: OpenedCall<Extra>,
  encoder: SseCallEncoder,
  log: FastifyBaseLogger,
): Promise<void> {
  const { stream, call } = opened;
  try {
    await pumpStream(raw, stream, encoder.encode, encoder.opening());
    call.end();
    raw.end(encoder.ending());
  } catch (error) {
    const failure = call.failure(error);
    call.end();
    if (failure.kind === "cancelled") {
      log.info("client disconnected during the stream");
      raw.destroy();
      return;
    }
    logFailure(log, failure.cause ?? failure, failure, "stream failed after start");
    endFailedStream(raw, () => raw.end(encoder.fail(failure)));
  }
}
