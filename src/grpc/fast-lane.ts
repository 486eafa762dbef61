/**
 * The gRPC fast lane: ChatService calls in plain gRPC (binary protobuf over HTTP/2, no compression, one request
 * message) are served here instead of by Connect's handler, whose per-message pipeline (async-iterable transforms,
 * an aborted signal per call) costs several times the rest of the call. The wire behaviour is Connect's own, byte
 * for byte (test/grpc/differential.test.ts): HTTP 200 with the reply's headers, `content-type:
 * application/grpc+proto` and the overhead header, the messages, then (`grpc-message` and) `grpc-status` in the
 * trailers; `grpc-timeout` ends the call with Connect's DEADLINE_EXCEEDED; a client reset aborts the upstream call;
 * shutdown ends calls with its own status. A stream writes each upstream read's messages in one DATA write
 * (./encode-chunk.ts) through the edge kit's pump.
 *
 * Everything else (gRPC-web, Connect, compressed messages, HTTP/1.1, ListModels) stays on Connect. With tracing on
 * the lane still serves its calls: a span hook gives them the server span Connect's interceptor gives the others.
 * The request guard (./request-guard.ts) has already checked sizes before handing a call here.
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Code, ConnectError } from "@connectrpc/connect";
import type { FastifyReply, FastifyRequest } from "fastify";
import {
  ChatService,
  type CreateChatCompletionRequest,
  CreateChatCompletionRequestSchema,
  CreateChatCompletionResponseSchema,
} from "../../gen/llmproxy/v1/chat_pb.ts";
import type { CallOptions, ChatCore, ChatStream } from "../core/chat-stream.ts";
import type { ChatRequest } from "../core/types.ts";
import {
  type CallAbort,
  CallAborts,
  callOptionsOf,
  endFailedStream,
  pumpStream,
  replyHeaders,
  type StreamSink,
  stampAnswer,
  stampStreamStart,
  writeOrWait,
} from "../edge/index.ts";
import { CarrierReader, StreamReasoning } from "../edge/reasoning-carrier.ts";
import { toChatRequest } from "./convert.ts";
import { toProtoResponse } from "./convert-response.ts";
import { createBatchEncoder } from "./encode-chunk.ts";
import { toConnectError } from "./errors.ts";
import { parseGrpcTimeout } from "./grpc-timeout.ts";
import { deadlineExceeded, reportRpcFailure } from "./rpc-failure.ts";

/** The ChatService methods the lane serves. */
export type FastMethod = "CreateChatCompletion" | "StreamChatCompletion";

/** Ends a call's span with the status of its failure, or undefined for OK. */
export type EndRpcSpan = (code: Code | undefined, message: string | undefined) => void;

/** What the lane needs from the plugin. */
export interface FastLaneOptions {
  readonly getCore: (request: FastifyRequest) => ChatCore;
  readonly shutdownSignal?: AbortSignal;
  /**
   * With tracing on: starts the call's server span (the same span Connect's interceptor gives the calls Connect
   * serves) with the full method name, before the core runs. Absent with tracing off, so the lane pays nothing.
   */
  readonly startSpan?: (request: FastifyRequest, method: string) => EndRpcSpan;
}

/** The lane: whether it takes a call, and serving it. */
export interface FastLane {
  /** Whether this request is plain gRPC the lane serves (checked before the body is read). */
  accepts(request: FastifyRequest): boolean;
  /** Serves the call from its whole body; false when the body is not exactly one uncompressed message. */
  serve(request: FastifyRequest, reply: FastifyReply, body: Buffer, method: FastMethod): boolean;
}

/** What we use of the raw HTTP/2 compat response. */
interface RawResponse extends StreamSink<Buffer> {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  writeHead(status: number, headers: Record<string, string>): unknown;
  addTrailers(headers: Record<string, string>): void;
  end(): unknown;
}

/** One call being served. */
interface FastCall {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly raw: RawResponse;
  readonly abort: CallAbort;
}

const GRPC_TYPES: ReadonlySet<string> = new Set(["application/grpc", "application/grpc+proto"]);
const CONTENT_TYPE = "application/grpc+proto";

/** Creates the lane of one plugin. */
export function createFastLane(options: FastLaneOptions): FastLane {
  const aborts = new CallAborts(options.shutdownSignal);
  return {
    accepts(request) {
      if (request.raw.httpVersionMajor !== 2) return false;
      const type = request.headers["content-type"]?.split(";")[0]?.trim().toLowerCase() ?? "";
      if (!GRPC_TYPES.has(type)) return false;
      const encoding = request.headers["grpc-encoding"];
      if (encoding !== undefined && encoding !== "identity") return false;
      const timeout = request.headers["grpc-timeout"];
      return (
        timeout === undefined || (typeof timeout === "string" && parseGrpcTimeout(timeout) !== undefined)
      );
    },
    serve(request, reply, body, method) {
      // One uncompressed message, exactly: anything else is Connect's to judge (and to answer with its error).
      if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) return false;
      let message: CreateChatCompletionRequest;
      try {
        message = fromBinary(CreateChatCompletionRequestSchema, body.subarray(5));
      } catch {
        return false;
      }
      reply.hijack();
      const raw = reply.raw as unknown as RawResponse;
      const timeout = request.headers["grpc-timeout"];
      const abort = aborts.watch(raw, typeof timeout === "string" ? parseGrpcTimeout(timeout) : undefined);
      const call: FastCall = { request, reply, raw, abort };
      // The span starts before the core runs. Only `open` gets the decoded message (see there).
      const endSpan = options.startSpan?.(request, `${ChatService.typeName}/${method}`);
      void serveCall(call, method, endSpan, open(call, message, method, options));
      return true;
    },
  };
}

/** What the pump needs of a stream the core has opened. */
interface OpenedStream {
  readonly stream: ChatStream;
  readonly includeUsage: boolean;
  readonly reasoning: StreamReasoning | undefined;
}

/**
 * Converts the message and calls the core: answers a unary call, or returns what the pump needs of the opened
 * stream. Kept apart from `serveCall` so that neither the decoded message nor the converted request (the whole
 * prompt) stays referenced while the answer streams: a suspended async function keeps its parameters and locals
 * alive, and `serveCall` waits on the pump until the last chunk.
 */
async function open(
  call: FastCall,
  message: CreateChatCompletionRequest,
  method: FastMethod,
  options: FastLaneOptions,
): Promise<OpenedStream | undefined> {
  const core = options.getCore(call.request);
  const seal = core.reasoningSeal;
  const carriers = seal === undefined ? undefined : new CarrierReader(seal, call.request.log);
  const chatRequest = toChatRequest(message, core.defaultModel, carriers);
  const callOptions = callOptionsOf(call.request, call.abort.signal);
  if (method === "CreateChatCompletion") {
    await answer(call, core, chatRequest, callOptions);
    return undefined;
  }
  const stream = await core.openStream(chatRequest, callOptions);
  writeHead(call, stampStreamStart);
  return {
    stream,
    includeUsage: chatRequest.includeUsage,
    reasoning: seal === undefined ? undefined : new StreamReasoning(stream, seal),
  };
}

/** Runs one call to its end: the answer and OK, or the failure's status (reported once). */
async function serveCall(
  call: FastCall,
  method: FastMethod,
  endSpan: EndRpcSpan | undefined,
  opening: Promise<OpenedStream | undefined>,
): Promise<void> {
  const { request, abort } = call;
  let status: ConnectError | undefined;
  try {
    const opened = await opening;
    if (opened !== undefined) {
      const encoder = createBatchEncoder(opened.stream, opened.includeUsage, opened.reasoning);
      await pumpStream(call.raw, opened.stream, encoder);
    }
    abort.end();
    endCall(call, undefined);
  } catch (error) {
    abort.end();
    status = abort.cause === "deadline" ? deadlineExceeded() : toConnectError(abort.failure(error));
    reportRpcFailure(request, error, status, method);
    const failed = status;
    // A client that stopped reading would never get the trailers (they queue behind the unread messages).
    if (!call.raw.writableEnded && !abort.clientGone) endFailedStream(call.raw, () => endCall(call, failed));
  } finally {
    endSpan?.(status?.code, status?.rawMessage);
  }
}

async function answer(
  call: FastCall,
  core: ChatCore,
  request: ChatRequest,
  options: CallOptions,
): Promise<void> {
  const result = await core.complete(request, options);
  const bytes = toBinary(CreateChatCompletionResponseSchema, toProtoResponse(result, core.reasoningSeal));
  const envelope = Buffer.allocUnsafe(5 + bytes.length);
  envelope[0] = 0;
  envelope.writeUInt32BE(bytes.length, 1);
  envelope.set(bytes, 5);
  writeHead(call, stampAnswer);
  const waiting = writeOrWait(call.raw, envelope);
  if (waiting !== undefined) await waiting;
}

/**
 * Sends the head: the reply's headers in the order Connect sends them, the hooks' (x-request-id) first, then
 * content-type and the overhead header (`stamp`; none on a failure's head).
 */
function writeHead(call: FastCall, stamp?: typeof stampAnswer): void {
  call.reply.header("content-type", CONTENT_TYPE);
  stamp?.(call.reply, call.request.record);
  call.raw.writeHead(200, replyHeaders(call.reply));
}

/** Ends the call with OK (no status given) or the failure's status, in the trailers. */
function endCall(call: FastCall, status: ConnectError | undefined): void {
  const raw = call.raw;
  if (raw.writableEnded || call.abort.clientGone) return;
  if (!raw.headersSent) writeHead(call);
  raw.addTrailers(
    status === undefined
      ? { "grpc-status": "0" }
      : { "grpc-message": encodeURIComponent(status.rawMessage), "grpc-status": String(status.code) },
  );
  raw.end();
}
