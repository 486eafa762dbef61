/** TLS with ALPN on one port: Fastify's own http2 + allowHTTP1, configured by loadTlsFastifyOptions. */
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTlsFastifyOptions } from "../../src/net/tls-options.ts";
import { echoRoutes, http2Request, timeClose } from "./net-test-kit.ts";

// Test-only self-signed certificate for localhost and 127.0.0.1 (see test/fixtures/tls/README.md).
const fixtures = new URL("../fixtures/tls/", import.meta.url);
const certFile = new URL("test-only-localhost.cert.pem", fixtures).pathname;
const keyFile = new URL("test-only-localhost.key.pem", fixtures).pathname;
const ca = readFileSync(certFile);

interface HttpsResponse {
  readonly status: number;
  readonly body: string;
  readonly alpn: string | false | null;
}

/** `alpn` undefined: the client offers no ALPN at all (the server then falls back to HTTP/1.1). */
function httpsGet(port: number, path: string, alpn?: string[]): Promise<HttpsResponse> {
  const agent = new https.Agent(alpn ? { ca, ALPNProtocols: alpn } : { ca });
  return new Promise<HttpsResponse>((resolve, reject) => {
    const request = https.request({ host: "127.0.0.1", port, path, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          alpn: (response.socket as TLSSocket).alpnProtocol,
        }),
      );
    });
    request.on("error", reject);
    request.end();
  }).finally(() => agent.destroy());
}

async function startTlsApp() {
  const app = Fastify(await loadTlsFastifyOptions({ certFile, keyFile }));
  await app.register(echoRoutes);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return { app, port: address.port };
}

describe("loadTlsFastifyOptions", () => {
  let tls: Awaited<ReturnType<typeof startTlsApp>>;
  beforeAll(async () => {
    tls = await startTlsApp();
  });
  afterAll(async () => {
    await tls.app.close();
  });

  it("returns Fastify's http2 + allowHTTP1 options with the PEM contents", async () => {
    const options = await loadTlsFastifyOptions({ certFile, keyFile }, { http2MaxConcurrentStreams: 64 });
    expect(options.http2).toBe(true);
    expect(options.https.allowHTTP1).toBe(true);
    expect(options.https.cert).toEqual(ca);
    expect(options.https.key).toEqual(readFileSync(keyFile));
    expect(options.https.settings).toEqual({ maxConcurrentStreams: 64 });
  });

  it("serves HTTP/1.1 clients over TLS, with ALPN http/1.1 or without ALPN", async () => {
    for (const [alpn, negotiated] of [
      [["http/1.1"], "http/1.1"],
      [undefined, false],
    ] as const) {
      const response = await httpsGet(tls.port, "/hello", alpn ? [...alpn] : undefined);
      expect(response.status).toBe(200);
      expect(response.alpn).toBe(negotiated);
      expect(JSON.parse(response.body)).toEqual({ httpVersion: "1.1" });
    }
  });

  it("serves an h2 client over TLS on the same port (ALPN h2)", async () => {
    const session = http2.connect(`https://127.0.0.1:${tls.port}`, { ca });
    try {
      const response = await http2Request(session, {
        method: "POST",
        path: "/echo",
        body: Buffer.from("tls"),
      });
      expect(response.status).toBe(200);
      expect(response.body.toString()).toBe("tls");
      expect(response.headers["x-http-version"]).toBe("2.0");
      expect((session.socket as TLSSocket).alpnProtocol).toBe("h2");
      expect(session.remoteSettings.maxConcurrentStreams).toBe(1000);
    } finally {
      session.close();
    }
  });

  it("names the file it cannot read", async () => {
    await expect(loadTlsFastifyOptions({ certFile: "/nonexistent/cert.pem", keyFile })).rejects.toThrow(
      /cannot read TLS certificate \/nonexistent\/cert\.pem/,
    );
  });
});

describe("TLS server close", () => {
  it("closes promptly with an idle h2 session open", async () => {
    const { app, port } = await startTlsApp();
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca });
    expect((await http2Request(session, { method: "GET", path: "/hello" })).status).toBe(200);
    const closed = new Promise<void>((resolve) => session.once("close", () => resolve()));
    expect(await timeClose(app)).toBeLessThan(2000);
    await closed;
  });
});
