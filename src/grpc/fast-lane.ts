/**
 * The gRPC fast lane: ChatService calls in plain gRPC (binary protobuf over HTTP/2, no compression, one request
 * message) are served here instead of by Connect's handler, whose per-message pipeline (async-iterable transforms,
 * an aborted signal per call) costs several times the rest of the call. The wire behaviour is Connect's own: HTTP
 * 200 with `content-type: application/grpc+proto`, the messages, then `grpc-status` (and a percent-encoded
 * `grpc-message`) in the trailers; `grpc-timeout` ends the call with DEADLINE_EXCEEDED "the operation timed out";
 * a client reset aborts the upstream call; shutdown ends calls with its own status. A stream writes each upstream
 * read's messages in one DATA write (./encode-chunk.ts).
 *
 * Everything else (gRPC-web, Connect, compressed messages, HTTP/1.1, ListModels) stays on Connect. With tracing on
 * the lane still serves its calls: a span hook gives them the server span Connect's interceptor gives the others. The request guard (./request-guard.ts) has already checked sizes before handing a call here.
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { FastifyReply, FastifyRequest } from "fastify";
import {
  ChatService,
  type CreateChatCompletionRequest,
  CreateChatCompletionRequestSchema,
  CreateChatCompletionResponseSchema,
} from "../../gen/llmproxy/v1/chat_pb.ts";
import { batchesOf } from "../core/batches.ts";
import type { CallOptions, ChatCore } from "../core/chat-stream.ts";
import { ProxyError } from "../core/errors.ts";
import { scrubErrorForLog } from "../core/secret-scrubber.ts";
import { pumpBatches } from "../edge/pump.ts";
import { observeRequest } from "../telemetry/request-lifecycle.ts";
import { OVERHEAD_HEADER, stampCompletion, stampFirstByte } from "../telemetry/request-record.ts";
import { logLevelFor } from "./chat-service.ts";
import { toChatRequest } from "./convert.ts";
import { toProtoResponse } from "./convert-response.ts";
import { createBatchEncoder } from "./encode-chunk.ts";
import { toConnectError } from "./errors.ts";
import { parseGrpcTimeout } from "./grpc-timeout.ts";

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
interface RawResponse {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly writableNeedDrain: boolean;
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: Buffer): boolean;
  addTrailers(headers: Record<string, string>): void;
  end(): unknown;
  destroy(): unknown;
  on(event: "close" | "drain", listener: () => void): unknown;
  off(event: "close" | "drain", listener: () => void): unknown;
}

const GRPC_TYPES: ReadonlySet<string> = new Set(["application/grpc", "application/grpc+proto"]);
const CONTENT_TYPE = "application/grpc+proto";
/** Connect's own message for an expired grpc-timeout, kept so both paths answer alike. */
const DEADLINE_MESSAGE = "the operation timed out";

/** Creates the lane of one plugin. */
export function createFastLane(options: FastLaneOptions): FastLane {
  const inFlight = new Set<AbortController>();
  const shutdown = options.shutdownSignal;
  shutdown?.addEventListener(
    "abort",
    () => {
      for (const controller of inFlight) controller.abort(shutdown.reason);
    },
    { once: true },
  );
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
      const call = new FastCall(request, reply, options, inFlight);
      void call.run(message, method);
      return true;
    },
  };
}

/** One call: its abort signal (client reset, deadline, shutdown) and its response. */
class FastCall {
  readonly #request: FastifyRequest;
  readonly #reply: FastifyReply;
  readonly #raw: RawResponse;
  readonly #options: FastLaneOptions;
  readonly #inFlight: Set<AbortController>;
  readonly #controller = new AbortController();
  #deadline: NodeJS.Timeout | undefined;
  #deadlineExpired = false;
  #clientGone = false;
  #done = false;

  constructor(
    request: FastifyRequest,
    reply: FastifyReply,
    options: FastLaneOptions,
    inFlight: Set<AbortController>,
  ) {
    this.#request = request;
    this.#reply = reply;
    this.#options = options;
    this.#inFlight = inFlight;
    reply.hijack();
    this.#raw = reply.raw as unknown as RawResponse;
  }

  async run(message: CreateChatCompletionRequest, method: FastMethod): Promise<void> {
    this.#listen();
    const endSpan = this.#options.startSpan?.(this.#request, `${ChatService.typeName}/${method}`);
    let failure: ConnectError | undefined;
    try {
      const core = this.#options.getCore(this.#request);
      const chatRequest = toChatRequest(message, core.defaultModel);
      if (method === "CreateChatCompletion") await this.#unary(core, chatRequest);
      else await this.#stream(core, chatRequest);
      this.#finish("0", undefined);
    } catch (error) {
      failure = this.#fail(error, method);
    } finally {
      this.#release();
      endSpan?.(failure?.code, failure?.rawMessage);
    }
  }

  async #unary(core: ChatCore, chatRequest: ReturnType<typeof toChatRequest>): Promise<void> {
    const result = await core.complete(chatRequest, this.#callOptions());
    const bytes = toBinary(CreateChatCompletionResponseSchema, toProtoResponse(result));
    const envelope = Buffer.allocUnsafe(5 + bytes.length);
    envelope[0] = 0;
    envelope.writeUInt32BE(bytes.length, 1);
    envelope.set(bytes, 5);
    this.#writeHead(stampCompletion(this.#request.record));
    const waiting = this.#write(envelope);
    if (waiting !== undefined) await waiting;
  }

  async #stream(core: ChatCore, chatRequest: ReturnType<typeof toChatRequest>): Promise<void> {
    const stream = await core.openStream(chatRequest, this.#callOptions());
    const batches = batchesOf(stream);
    try {
      this.#writeHead(stampFirstByte(this.#request.record));
      const encode = createBatchEncoder(stream, chatRequest.includeUsage);
      await pumpBatches(batches, (batch) => {
        const bytes = encode(batch);
        return bytes === undefined ? undefined : this.#write(bytes, stream.signal);
      });
    } finally {
      await batches.return?.();
    }
  }

  #callOptions(): CallOptions {
    const request = this.#request;
    return {
      signal: this.#controller.signal,
      log: request.log,
      requestId: request.id,
      observer: observeRequest(request.record),
    };
  }

  /** Client reset (the response closes before we end it), grpc-timeout and shutdown abort the call. */
  #listen(): void {
    const shutdown = this.#options.shutdownSignal;
    if (shutdown?.aborted === true) this.#controller.abort(shutdown.reason);
    else this.#inFlight.add(this.#controller);
    this.#raw.on("close", this.#onClose);
    const timeout = this.#request.headers["grpc-timeout"];
    const ms = typeof timeout === "string" ? parseGrpcTimeout(timeout) : undefined;
    if (ms !== undefined) this.#deadline = setTimeout(this.#onDeadline, ms);
  }

  readonly #onClose = (): void => {
    if (this.#done) return;
    this.#clientGone = true;
    this.#controller.abort(new DOMException("The RPC was cancelled.", "AbortError"));
  };

  readonly #onDeadline = (): void => {
    this.#deadlineExpired = true;
    this.#controller.abort(new DOMException("The RPC deadline was exceeded.", "TimeoutError"));
  };

  #release(): void {
    this.#done = true;
    this.#inFlight.delete(this.#controller);
    this.#raw.off("close", this.#onClose);
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
  }

  /** The reply's headers (x-request-id...), then Connect's own in its (sorted) order, so both paths send the same. */
  #writeHead(overheadMs: string | undefined): void {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.#reply.getHeaders())) {
      if (typeof value === "string") headers[name] = value;
      else if (typeof value === "number") headers[name] = String(value);
    }
    headers["content-type"] = CONTENT_TYPE;
    if (overheadMs !== undefined) headers[OVERHEAD_HEADER] = overheadMs;
    this.#raw.writeHead(200, headers);
  }

  /**
   * Writes, waiting for the stream to drain (or close) when its buffer is full, or for `signal` to abort (the
   * request's budget ran out while the client was not reading: the caller reads on and fails).
   */
  #write(bytes: Buffer, signal?: AbortSignal): Promise<void> | undefined {
    if (this.#raw.write(bytes)) return undefined;
    return new Promise((resolve) => {
      const done = (): void => {
        this.#raw.off("drain", done);
        this.#raw.off("close", done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.#raw.on("drain", done);
      this.#raw.on("close", done);
      if (signal?.aborted === true) done();
      else signal?.addEventListener("abort", done, { once: true });
    });
  }

  #finish(status: string, message: string | undefined): void {
    const raw = this.#raw;
    if (raw.writableEnded || this.#clientGone) return;
    if (!raw.headersSent) this.#writeHead(undefined);
    raw.addTrailers(
      message === undefined
        ? { "grpc-status": status }
        : { "grpc-message": encodeURIComponent(message), "grpc-status": status },
    );
    raw.end();
  }

  /** Logs a failed call (as chat-service.ts does), records its status, ends it with that status and returns it. */
  #fail(error: unknown, method: FastMethod): ConnectError {
    const shutdown = this.#options.shutdownSignal;
    const connectError = this.#deadlineExpired
      ? new ConnectError(DEADLINE_MESSAGE, Code.DeadlineExceeded)
      : shutdown?.aborted === true
        ? toConnectError(shutdown.reason)
        : toConnectError(error);
    const proxyError = ProxyError.from(error);
    const request = this.#request;
    request.log[logLevelFor(proxyError.kind)](
      { err: scrubErrorForLog(error), kind: proxyError.kind, grpcCode: connectError.code, rpc: method },
      "rpc failed",
    );
    if (request.record) {
      request.record.grpcCode = connectError.code;
      request.record.errorKind ??= proxyError.kind;
    }
    const raw = this.#raw;
    // The client is gone (reset): nothing to answer.
    if (raw.writableEnded || this.#clientGone) return connectError;
    // A client that stopped reading would never get the trailers (they queue behind the unread messages).
    if (raw.writableNeedDrain) {
      raw.destroy();
      return connectError;
    }
    if (!raw.headersSent) this.#writeHead(undefined);
    raw.addTrailers({
      "grpc-message": encodeURIComponent(connectError.rawMessage),
      "grpc-status": String(connectError.code),
    });
    raw.end();
    return connectError;
  }
}
