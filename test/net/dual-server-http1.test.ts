/** HTTP/1.1 through the sniffing server: keep-alive, pipelining, byte-by-byte requests, big bodies. */
import { randomBytes } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectionCount,
  connectRaw,
  type DualApp,
  http1Request,
  readAll,
  sleep,
  startDualApp,
  waitFor,
} from "./net-test-kit.ts";

describe("dual server, HTTP/1.1", () => {
  let dual: DualApp;
  beforeAll(async () => {
    dual = await startDualApp();
  });
  afterAll(async () => {
    await dual.app.close();
  });

  it("serves GET and POST on one keep-alive connection", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const get = await http1Request(dual.port, { method: "GET", path: "/hello", agent });
      const post = await http1Request(dual.port, {
        method: "POST",
        path: "/echo",
        body: Buffer.from("ping"),
        agent,
      });
      expect(get.status).toBe(200);
      expect(JSON.parse(get.body.toString())).toEqual({ httpVersion: "1.1" });
      expect(post.status).toBe(200);
      expect(post.body.toString()).toBe("ping");
      expect(post.headers["x-http-version"]).toBe("1.1");
      expect(post.reusedSocket).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it("answers pipelined requests sent in one write, in order", async () => {
    const socket = await connectRaw(dual.port);
    const response = readAll(socket);
    socket.write(
      "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n" +
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nsecond" +
        "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    const text = await response;
    expect(text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(3);
    expect(text.indexOf('{"httpVersion":"1.1"}')).toBeLessThan(text.indexOf("second"));
    expect(text).toContain("\r\n\r\nsecond");
  });

  it("serves a POST written one byte per write (its 'P' starts like the h2 preface)", async () => {
    const socket = await connectRaw(dual.port);
    const response = readAll(socket);
    const request = Buffer.from(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nbytewise!",
    );
    socket.write(request.subarray(0, 1));
    // Long enough for the lone "P" to be read on its own, so the sniffer has to wait for more.
    await sleep(30);
    expect(dual.server.stats().sniffing).toBe(1);
    for (const byte of request.subarray(1)) {
      socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const text = await response;
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(text.endsWith("\r\n\r\nbytewise!")).toBe(true);
  });

  it("echoes a 900 KB body", async () => {
    const body = randomBytes(900 * 1024);
    const response = await http1Request(dual.port, { method: "POST", path: "/echo", body });
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(body.length);
    expect(response.body.equals(body)).toBe(true);
  });

  it("answers a request whose client half-closes right after sending it", async () => {
    const socket = await connectRaw(dual.port);
    const response = readAll(socket);
    socket.end("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    const text = await response;
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(text).toContain('{"httpVersion":"1.1"}');
  });

  it("leaves no connection behind once clients are done", async () => {
    await waitFor("connections to drain", async () => (await connectionCount(dual.server)) === 0);
    expect(dual.server.stats()).toEqual({ sniffing: 0, http2Sessions: 0 });
  });
});
