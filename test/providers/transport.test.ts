/**
 * The pooled undici transport against a loopback server: small and large bodies (the large ones go as a one-shot
 * stream so the request does not keep them) arrive byte for byte with a Content-Length and no chunked encoding,
 * multi-byte characters included, and connections are reused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUndiciTransport } from "../../src/providers/transport.ts";
import { type LoopbackServer, startLoopbackServer } from "../helpers/mock-server.ts";

interface Seen {
  readonly body: string;
  readonly contentLength: string | undefined;
  readonly transferEncoding: string | undefined;
  readonly port: number | undefined;
}

const seen: Seen[] = [];
let server: LoopbackServer;
const transport = createUndiciTransport({ connectionsPerOrigin: 4, connectTimeoutMs: 2000 });

beforeAll(async () => {
  server = await startLoopbackServer((request, body, response) => {
    seen.push({
      body,
      contentLength: request.headers["content-length"],
      transferEncoding: request.headers["transfer-encoding"],
      port: request.socket.remotePort,
    });
    response.writeHead(200, { "content-type": "application/json" }).end(`{"length":${body.length}}`);
  });
});
afterAll(async () => {
  await transport.close();
  await server.close();
});

async function post(body: string): Promise<string> {
  const response = await transport.post({
    url: `${server.origin}/v1/chat/completions`,
    headers: { "content-type": "application/json" },
    body,
    signal: new AbortController().signal,
  });
  expect(response.status).toBe(200);
  return response.text();
}

describe("undici transport", () => {
  it("sends small and large bodies whole, with a Content-Length, over kept-alive connections", async () => {
    const small = JSON.stringify({ content: "héllo 你好 👋" });
    const large = JSON.stringify({ content: "数据-".repeat(40_000) });
    expect(large.length).toBeGreaterThan(64 * 1024);
    await post(small);
    await post(large);
    await post(large);
    await post(small);
    await post(large);
    expect(seen.map((request) => request.body)).toEqual([small, large, large, small, large]);
    for (const request of seen) {
      expect(request.transferEncoding).toBeUndefined();
      expect(Number(request.contentLength)).toBe(Buffer.byteLength(request.body));
    }
    // Kept alive: five requests over at most two pooled connections (the pool may hand the next request to a
    // second idle connection; a connection closed after a stream body would show as five).
    expect(new Set(seen.map((request) => request.port)).size).toBeLessThanOrEqual(2);
  });
});
