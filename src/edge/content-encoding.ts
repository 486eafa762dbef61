/**
 * `Content-Encoding` of request bodies on the JSON edges (OpenAI's routes, Responses): gzip, deflate and br are decoded as a stream before
 * the JSON parser reads the body, and Fastify holds the decoded bytes to `server.body_limit` (413 past it, so a
 * small compressed bomb costs at most body_limit of memory); bytes that do not decode answer 400. Any other
 * encoding (zstd, a list of several) answers 415 (RFC 9110 §15.5.16). The Connect routes decode their own.
 * @see https://fastify.dev/docs/latest/Reference/Hooks/#preparsing
 */
import { PassThrough, type Readable, type Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { FastifyReply, FastifyRequest, RequestPayload } from "fastify";
import { ProxyError } from "../core/errors.ts";
import { toHttpError } from "./openai-errors.ts";

const DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: createGunzip,
  "x-gzip": createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** The stream Fastify's body reader takes: it checks `receivedEncodedLength` against Content-Length. */
type DecodedPayload = PassThrough & { receivedEncodedLength: number };

/** Fastify `preParsing` hook: the body decoded, the payload as is, or a 415 answer. */
export async function decodeRequestBody(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: RequestPayload,
): Promise<RequestPayload | FastifyReply> {
  const header = request.headers["content-encoding"];
  if (header === undefined) return payload;
  const encoding = header.trim().toLowerCase();
  if (encoding === "" || encoding === "identity") return payload;
  const createDecoder = DECODERS[encoding];
  if (createDecoder !== undefined) return decoded(payload, createDecoder(), encoding);
  const error = new ProxyError(
    "invalid_request",
    `Unsupported Content-Encoding '${encoding.slice(0, 40)}': send the body uncompressed, or as gzip, deflate or br.`,
    { code: "unsupported_content_encoding", param: "Content-Encoding" },
  );
  if (request.record !== null) request.record.errorKind ??= error.kind;
  const http = toHttpError(error);
  return reply.status(415).headers(http.headers).send(http.body);
}

/**
 * The decoded bytes of `payload`. A decoding error becomes a clear 400; the request itself is left alone (not
 * destroyed), so the answer still reaches the client.
 */
function decoded(payload: Readable, decoder: Transform, encoding: string): DecodedPayload {
  const output = new PassThrough() as DecodedPayload;
  output.receivedEncodedLength = 0;
  payload.on("data", (chunk: Buffer) => {
    output.receivedEncodedLength += chunk.length;
  });
  decoder.once("error", (cause) => {
    payload.unpipe(decoder);
    const message = `The request body could not be decompressed (Content-Encoding: ${encoding}).`;
    output.destroy(new ProxyError("invalid_request", message, { cause }));
  });
  payload.pipe(decoder).pipe(output);
  return output;
}
