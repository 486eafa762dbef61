/**
 * TLS on the one port: Fastify's own `http2: true` + `https.allowHTTP1` serves h2 and HTTP/1.1, with ALPN
 * choosing per connection, so no sniffing is needed (and the dual server factory is not used).
 * @see https://fastify.dev/docs/latest/Reference/HTTP2/#secure-https
 * @see https://nodejs.org/api/http2.html#alpn-negotiation
 */
import { readFile } from "node:fs/promises";
import type http2 from "node:http2";
import { DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS } from "./server-factory.ts";

/** PEM files of the server certificate (chain) and its private key. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TlsTuning {
  /** Concurrent streams (gRPC calls) allowed per h2 connection. Default 1000, as on the cleartext port. */
  readonly http2MaxConcurrentStreams?: number;
}

/** The Fastify options for TLS with ALPN: spread them into `Fastify({ ...tls, ... })`. */
export interface TlsFastifyOptions {
  readonly http2: true;
  readonly https: http2.SecureServerOptions & { readonly allowHTTP1: true };
}

/** Reads the PEM files; the error names the file that could not be read, never its content. */
export async function loadTlsFastifyOptions(
  files: TlsFiles,
  tuning: TlsTuning = {},
): Promise<TlsFastifyOptions> {
  const [cert, key] = await Promise.all([
    readPem(files.certFile, "certificate"),
    readPem(files.keyFile, "private key"),
  ]);
  return {
    http2: true,
    https: {
      allowHTTP1: true,
      cert,
      key,
      settings: {
        maxConcurrentStreams: tuning.http2MaxConcurrentStreams ?? DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS,
      },
    },
  };
}

async function readPem(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot read TLS ${what} ${file}: ${reason}`, { cause: error });
  }
}
