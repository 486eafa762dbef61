/**
 * The real upstream transport: undici's request API over one keep-alive Agent, which pools connections per
 * origin. `connector.limit_per_host` from the users' config caps connections per origin.
 * @see https://undici.nodejs.org/#/docs/api/Agent
 */
import { Agent, request } from "undici";
import type { UpstreamRequest, UpstreamResponse, UpstreamTransport } from "./types.ts";

/** Pool settings, from the `connector` config section. */
export interface TransportOptions {
  /** Connections per upstream origin. */
  readonly connectionsPerOrigin: number;
  /** Milliseconds to wait for a TCP/TLS connection. */
  readonly connectTimeoutMs: number;
}

/** An UpstreamTransport that can be closed when its runtime is retired. */
export interface ClosableTransport extends UpstreamTransport {
  close(): Promise<void>;
}

/** Creates the pooled transport. */
export function createUndiciTransport(options: TransportOptions): ClosableTransport {
  const agent = new Agent({
    connections: options.connectionsPerOrigin,
    connectTimeout: options.connectTimeoutMs,
    keepAliveTimeout: 30_000,
    // LLM streams can pause for long stretches (thinking); the core's own timeouts decide when to give up.
    bodyTimeout: 0,
    headersTimeout: 0,
  });
  return {
    async post(upstream: UpstreamRequest): Promise<UpstreamResponse> {
      const response = await request(upstream.url, {
        method: "POST",
        headers: upstream.headers,
        body: upstream.body,
        signal: upstream.signal,
        dispatcher: agent,
      });
      return {
        status: response.statusCode,
        headers: response.headers,
        body: response.body,
        text: () => response.body.text(),
      };
    },
    close: () => agent.close(),
  };
}
