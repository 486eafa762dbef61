/**
 * The real upstream transport: one keep-alive undici Agent, which keeps a pool of connections per upstream
 * origin (`connector.limit_per_host` connections each). Requests go through undici's dispatch API with a small
 * handler instead of `request()`: no Readable stream and no per-chunk promise per body, the bytes of each
 * network read reach the adapter at once (./upstream-body.ts), and a body read to its end is never destroyed,
 * so its connection goes back to the pool.
 * @see https://undici.nodejs.org/#/docs/api/Agent
 * @see https://undici.nodejs.org/#/docs/api/Dispatcher?id=dispatcherdispatchoptions-handler
 */
import { Readable } from "node:stream";
import { Agent, type Dispatcher } from "undici";
import { memoByKey } from "../core/memo.ts";
import type { UpstreamRequest, UpstreamResponse, UpstreamTransport } from "./types.ts";
import { UpstreamBody } from "./upstream-body.ts";

/** Pool settings, from the `connector` config section. */
export interface TransportOptions {
  /** Connections per upstream origin. */
  readonly connectionsPerOrigin: number;
  /** Milliseconds to wait for a TCP/TLS connection. */
  readonly connectTimeoutMs: number;
  /** Largest body read whole (`text()`: non-streaming answers, error bodies); default: no cap. */
  readonly maxResponseBytes?: number;
}

/** An UpstreamTransport that can be closed when its runtime is retired. */
export interface ClosableTransport extends UpstreamTransport {
  close(): Promise<void>;
}

/** Where a URL goes, split once per URL. */
const targetOf = memoByKey((url) => {
  const parsed = new URL(url);
  return { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
});

/** Creates the pooled transport. */
export function createUndiciTransport(options: TransportOptions): ClosableTransport {
  const maxResponseBytes = options.maxResponseBytes ?? Number.POSITIVE_INFINITY;
  const agent = new Agent({
    connections: options.connectionsPerOrigin,
    connectTimeout: options.connectTimeoutMs,
    keepAliveTimeout: 30_000,
    // LLM streams can pause for long stretches (thinking); the core's own timeouts decide when to give up.
    bodyTimeout: 0,
    headersTimeout: 0,
  });
  return {
    post(upstream: UpstreamRequest): Promise<UpstreamResponse> {
      if (upstream.signal.aborted) return Promise.reject(upstream.signal.reason);
      const target = targetOf(upstream.url);
      const handler = new PostHandler(upstream.signal, maxResponseBytes);
      const large = upstream.body.length >= LARGE_BODY_CHARS;
      agent.dispatch(
        {
          origin: target.origin,
          path: target.path,
          method: "POST",
          headers: large ? withContentLength(upstream.headers, upstream.body) : upstream.headers,
          body: large ? sentOnce(upstream.body) : upstream.body,
        },
        handler,
      );
      return handler.response.promise;
    },
    close: () => agent.close(),
  };
}

/**
 * Bodies from this size on are handed to undici as a one-shot stream. undici keeps a string or Buffer body
 * referenced until the response ends, so a long stream would hold a copy of a large prompt for minutes; the
 * stream drops its only reference once undici has taken the bytes. Smaller bodies keep the cheaper one-write
 * path (a stream body costs separate writes for the head and the body).
 */
const LARGE_BODY_CHARS = 64 * 1024;

function withContentLength(
  headers: Readonly<Record<string, string>>,
  body: string,
): Readonly<Record<string, string>> {
  return { ...headers, "content-length": String(Buffer.byteLength(body)) };
}

function sentOnce(body: string): Readable {
  let bytes: Buffer | undefined = Buffer.from(body);
  return Readable.from(
    (function* () {
      const taken = bytes;
      bytes = undefined;
      if (taken !== undefined) yield taken;
    })(),
    { objectMode: false },
  );
}

/**
 * The handler of one POST: resolves with the response once its headers arrive, then feeds its body. It is its
 * own abort listener (`handleEvent`), so a request costs one object rather than a set of closures.
 */
class PostHandler implements Dispatcher.DispatchHandler {
  readonly response = Promise.withResolvers<UpstreamResponse>();
  readonly #signal: AbortSignal;
  readonly #maxResponseBytes: number;
  #controller: Dispatcher.DispatchController | undefined;
  #body: UpstreamBody | undefined;
  #settled = false;

  constructor(signal: AbortSignal, maxResponseBytes: number) {
    this.#signal = signal;
    this.#maxResponseBytes = maxResponseBytes;
    signal.addEventListener("abort", this, { once: true });
  }

  /** The request's signal fired: fail what is pending and abort the request (now, or once it starts). */
  handleEvent(): void {
    const reason = toError(this.#signal.reason);
    if (this.#body === undefined) this.#reject(reason);
    else this.#body.fail(reason);
    this.#controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Aborted while queued for a connection: undici calls this once one is free, before sending anything.
    if (this.#signal.aborted) controller.abort(toError(this.#signal.reason));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // undici keeps the raw header buffers on the controller, and they pin the socket read that carried them for
    // the whole stream (about 1.5 KB per open stream); the parsed `headers` are all we use.
    controller.rawHeaders = null;
    const body = new UpstreamBody(controller, this.#maxResponseBytes);
    this.#body = body;
    this.#settled = true;
    this.response.resolve({ status: statusCode, headers, body, text: () => body.text() });
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#body?.push(chunk);
  }

  onResponseEnd(): void {
    this.#signal.removeEventListener("abort", this);
    this.#body?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#signal.removeEventListener("abort", this);
    if (this.#body === undefined) this.#reject(error);
    else this.#body.fail(error);
  }

  #reject(error: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.response.reject(error);
  }
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
