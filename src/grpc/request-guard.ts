/**
 * Checks the bytes of a ChatService request before Connect reads them. Connect reports input it cannot decode (a
 * broken envelope, bad protobuf, invalid UTF-8 in a string, a Struct nested past protobuf-es' recursion limit, a
 * compressed message without its encoding) as INTERNAL, which is HTTP 500 for Connect clients and tells any
 * client that the gateway failed. Here such input gets INVALID_ARGUMENT in the caller's protocol, and JSON bodies
 * must be valid UTF-8 (a lenient decoder would forward U+FFFD the client never sent).
 *
 * The bytes read are handed on as the request body (connect-fastify passes a body Fastify already has to Connect),
 * so the network is read once; a binary message is decoded twice (here and by Connect), which costs microseconds
 * for a chat request.
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md (Length-Prefixed-Message)
 * @see https://connectrpc.com/docs/protocol/
 */
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { type DescMessage, fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastLane, FastMethod } from "./fast-lane.ts";
import { type RpcProtocol, rpcProtocolOf, sendRpcError } from "./rpc-reject.ts";

/** How the body of a request is framed and encoded. */
interface BodyFormat {
  readonly enveloped: boolean;
  readonly binary: boolean;
  /** The header naming the compression of the messages. */
  readonly encodingHeader: string;
}

const FORMATS: Readonly<Record<string, BodyFormat>> = {
  "application/grpc": { enveloped: true, binary: true, encodingHeader: "grpc-encoding" },
  "application/grpc+proto": { enveloped: true, binary: true, encodingHeader: "grpc-encoding" },
  "application/grpc+json": { enveloped: true, binary: false, encodingHeader: "grpc-encoding" },
  "application/grpc-web": { enveloped: true, binary: true, encodingHeader: "grpc-encoding" },
  "application/grpc-web+proto": { enveloped: true, binary: true, encodingHeader: "grpc-encoding" },
  "application/grpc-web+json": { enveloped: true, binary: false, encodingHeader: "grpc-encoding" },
  "application/connect+proto": { enveloped: true, binary: true, encodingHeader: "connect-content-encoding" },
  "application/connect+json": { enveloped: true, binary: false, encodingHeader: "connect-content-encoding" },
  "application/proto": { enveloped: false, binary: true, encodingHeader: "content-encoding" },
  "application/json": { enveloped: false, binary: false, encodingHeader: "content-encoding" },
};

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Options of the guard. */
export interface RequestGuardOptions {
  /** Request message type of each guarded route path (`/llmproxy.v1.ChatService/CreateChatCompletion`). */
  readonly inputs: ReadonlyMap<string, DescMessage>;
  /** Largest request message in bytes (as Connect's readMaxBytes). */
  readonly readMaxBytes: number;
  /** Serves plain gRPC chat calls itself once their body is read (./fast-lane.ts); absent: Connect serves all. */
  readonly fastLane?: { readonly lane: FastLane; readonly methods: ReadonlyMap<string, FastMethod> };
}

/**
 * A Fastify preHandler for the Connect routes. Callback style on purpose: after a refusal `done` is never called,
 * so Fastify runs nothing more for the request, whenever the refusal's bytes are actually written.
 */
export function createRequestGuard(
  options: RequestGuardOptions,
): (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void {
  return (request, reply, done) => {
    const input = options.inputs.get(request.routeOptions.url ?? "");
    const format = FORMATS[request.headers["content-type"]?.split(";")[0]?.trim().toLowerCase() ?? ""];
    const protocol = rpcProtocolOf(request);
    // GET (Connect's idempotent form), other content types and other services: Connect answers as it should.
    if (request.method !== "POST" || input === undefined || format === undefined || protocol === undefined) {
      done();
      return;
    }
    const fastMethod =
      options.fastLane?.lane.accepts(request) === true
        ? options.fastLane.methods.get(request.routeOptions.url ?? "")
        : undefined;
    const fast =
      fastMethod === undefined || options.fastLane === undefined
        ? undefined
        : { lane: options.fastLane.lane, method: fastMethod };
    check(request, reply, { input, format, protocol, readMaxBytes: options.readMaxBytes, fast }).then(
      (accepted) => {
        if (accepted) done();
      },
      (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
    );
  };
}

/** Reads and checks the body; true when the request may go on to Connect (with the body handed over). */
async function check(
  request: FastifyRequest,
  reply: FastifyReply,
  target: {
    input: DescMessage;
    format: BodyFormat;
    protocol: RpcProtocol;
    readMaxBytes: number;
    fast: { lane: FastLane; method: FastMethod } | undefined;
  },
): Promise<boolean> {
  const { input, format, protocol, readMaxBytes, fast } = target;
  const body = await readBody(request, readMaxBytes + 5);
  if (body === undefined) {
    const message = "The request message is larger than this gateway accepts.";
    refuse(request, reply, protocol, Code.ResourceExhausted, message);
    return false;
  }
  // The fast lane decodes the one message itself; whatever it declines gets the checks below and Connect.
  if (fast?.lane.serve(request, reply, body, fast.method) === true) return false;
  const encoding = request.headers[format.encodingHeader];
  const named = typeof encoding === "string" ? encoding : undefined;
  const problem = checkBody(body, format, named, input, readMaxBytes);
  if (problem !== undefined) {
    refuse(request, reply, protocol, Code.InvalidArgument, problem);
    return false;
  }
  request.body = replay(body);
  return true;
}

function refuse(
  request: FastifyRequest,
  reply: FastifyReply,
  protocol: RpcProtocol,
  code: Code.InvalidArgument | Code.ResourceExhausted,
  message: string,
): void {
  request.log.info({ rpc: request.routeOptions.url, reason: message }, "rpc refused: undecodable request");
  sendRpcError(request, reply, protocol, code, message);
}

/** The whole body, or undefined once it passes `limit` bytes (reading stops; the rest stays unread). */
async function readBody(request: FastifyRequest, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  // Not for-await: leaving that loop early would destroy the request before the refusal is sent.
  const iterator = (request.raw as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
    length += next.value.length;
    if (length > limit) return undefined;
    chunks.push(next.value);
  }
  return Buffer.concat(chunks, length);
}

/** Why the body is refused, or undefined. */
function checkBody(
  body: Buffer,
  format: BodyFormat,
  encoding: string | undefined,
  input: DescMessage,
  readMaxBytes: number,
): string | undefined {
  if (!format.enveloped) return checkMessage(decompress(body, encoding, readMaxBytes), format, input);
  let offset = 0;
  while (offset < body.length) {
    if (body.length - offset < 5) return "The request ends inside a message header (5 bytes expected).";
    const flags = body.readUInt8(offset);
    const length = body.readUInt32BE(offset + 1);
    if (flags > 1) return `The request message has unknown flags (0x${flags.toString(16)}).`;
    if (body.length - offset - 5 < length) return "The request ends before the message its header announces.";
    const payload = body.subarray(offset + 5, offset + 5 + length);
    offset += 5 + length;
    if (flags === 1 && encoding === undefined)
      return "The request message is compressed but names no encoding.";
    const problem = checkMessage(
      flags === 1 ? decompress(payload, encoding, readMaxBytes) : payload,
      format,
      input,
    );
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Decompressed bytes; undefined for an encoding Connect will refuse itself; an Error when they do not decompress. */
function decompress(bytes: Buffer, encoding: string | undefined, limit: number): Buffer | Error | undefined {
  if (encoding === undefined || encoding === "identity") return bytes;
  try {
    if (encoding === "gzip") return gunzipSync(bytes, { maxOutputLength: limit });
    if (encoding === "br") return brotliDecompressSync(bytes, { maxOutputLength: limit });
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  return undefined;
}

function checkMessage(
  bytes: Buffer | Error | undefined,
  format: BodyFormat,
  input: DescMessage,
): string | undefined {
  if (bytes === undefined) return undefined;
  if (bytes instanceof Error) return "The request message could not be decompressed.";
  if (!format.binary) {
    try {
      strictUtf8.decode(bytes);
      return undefined;
    } catch {
      return "The request body is not valid UTF-8.";
    }
  }
  try {
    fromBinary(input, bytes);
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return `The request message could not be decoded: ${reason.slice(0, 200)}`;
  }
}

/**
 * The checked body, handed to Connect once. A generator would hold `body` until it is driven to its end, which
 * Connect does not need to do: the request's bytes would then live as long as the call (a streamed answer).
 */
function replay(body: Buffer): AsyncIterable<Uint8Array> {
  let pending: Buffer | undefined = body.length > 0 ? body : undefined;
  const iterator: AsyncIterator<Uint8Array> = {
    next: async () => {
      const bytes = pending;
      pending = undefined;
      return bytes === undefined ? { done: true, value: undefined } : { done: false, value: bytes };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
