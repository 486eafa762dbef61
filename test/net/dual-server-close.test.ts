/**
 * Connections the http1 server cannot see (still sniffing, or handed to http2) must neither leak nor keep
 * fastify.close() waiting: traps 2, 3 and 4 of the one-port design.
 */
import http from "node:http";
import { describe, expect, it } from "vitest";
import {
  connectHttp2,
  connectionCount,
  connectRaw,
  http1Request,
  http2Request,
  sleep,
  startDualApp,
  timeClose,
  waitFor,
  whenClosed,
  within,
} from "./net-test-kit.ts";
import { connectPacedHttp2 } from "./paced-socket.ts";

const PROMPT_CLOSE_MS = 2000;

describe("dual server, closing connections", () => {
  // Trap 2: http.Server accepts sockets with allowHalfOpen, and http2 never ends its side after the peer's
  // FIN, so the socket and the session would stay open forever.
  it("closes an h2 connection whose client sends FIN (trap 2)", async () => {
    const dual = await startDualApp();
    try {
      const { session, socket } = connectPacedHttp2(dual.port);
      expect((await http2Request(session, { method: "GET", path: "/hello" })).status).toBe(200);
      expect(await connectionCount(dual.server)).toBe(1);
      expect(dual.server.stats().http2Sessions).toBe(1);
      socket.tcp.end();
      await waitFor(
        "the server to drop the connection",
        async () => (await connectionCount(dual.server)) === 0,
      );
      await waitFor("the server session to close", () => dual.server.stats().http2Sessions === 0);
      await whenClosed(socket.tcp);
    } finally {
      expect(await timeClose(dual.app)).toBeLessThan(PROMPT_CLOSE_MS);
    }
  });

  // Trap 3: a peer that sends nothing is known to neither http server.
  it("destroys a connection that sends nothing within sniffTimeoutMs (trap 3)", async () => {
    const dual = await startDualApp({ sniffTimeoutMs: 150 });
    try {
      const started = performance.now();
      const socket = await connectRaw(dual.port);
      await waitFor("the connection to be sniffed", () => dual.server.stats().sniffing === 1);
      await within(PROMPT_CLOSE_MS, "the sniff timeout", whenClosed(socket));
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(140);
      expect(elapsed).toBeLessThan(PROMPT_CLOSE_MS);
      await waitFor("the server to forget it", async () => (await connectionCount(dual.server)) === 0);
      expect(dual.server.stats().sniffing).toBe(0);
    } finally {
      expect(await timeClose(dual.app)).toBeLessThan(PROMPT_CLOSE_MS);
    }
  });

  it("destroys a connection that sends FIN before its protocol is known (trap 3)", async () => {
    const dual = await startDualApp();
    try {
      const silent = await connectRaw(dual.port);
      silent.end();
      // "PRI" is a prefix of the preface, so this one is still undecided when its FIN arrives.
      const partial = await connectRaw(dual.port);
      partial.end("PRI");
      // Well before the 10 s sniff timeout.
      await within(1000, "closing both", Promise.all([whenClosed(silent), whenClosed(partial)]));
      await waitFor("the server to forget them", async () => (await connectionCount(dual.server)) === 0);
      expect(dual.server.stats().sniffing).toBe(0);
    } finally {
      expect(await timeClose(dual.app)).toBeLessThan(PROMPT_CLOSE_MS);
    }
  });

  it("destroys still-sniffing connections on close() (trap 3)", async () => {
    const dual = await startDualApp();
    const silent = await connectRaw(dual.port);
    const partial = await connectRaw(dual.port);
    partial.write("PRI * HTTP/2");
    await waitFor("both connections to be sniffed", () => dual.server.stats().sniffing === 2);
    // The default sniff timeout is 10 s; close() must not wait for it.
    expect(await timeClose(dual.app)).toBeLessThan(PROMPT_CLOSE_MS);
    await Promise.all([whenClosed(silent), whenClosed(partial)]);
    expect(dual.server.stats().sniffing).toBe(0);
  });

  // Trap 4: h2 sockets are counted on the http1 server, whose close() neither sees nor ends them.
  it("closes idle h2 sessions (GOAWAY) and idle keep-alive connections on close() (trap 4)", async () => {
    const dual = await startDualApp();
    const session = await connectHttp2(dual.port);
    const goaway = new Promise<number>((resolve) => session.once("goaway", (code: number) => resolve(code)));
    const sessionClosed = new Promise<void>((resolve) => session.once("close", () => resolve()));
    expect((await http2Request(session, { method: "GET", path: "/hello" })).status).toBe(200);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await http1Request(dual.port, { method: "GET", path: "/hello", agent })).status).toBe(200);
    await sleep(20);
    expect(await connectionCount(dual.server)).toBe(2);

    expect(await timeClose(dual.app)).toBeLessThan(PROMPT_CLOSE_MS);
    expect(await goaway).toBe(0);
    await sessionClosed;
    // The server counts the socket out when it is destroyed; the session's 'close' comes a tick later.
    await waitFor("the server session to close", () => dual.server.stats().http2Sessions === 0);
    agent.destroy();
  });

  it("lets an in-flight h2 request finish when close() sends GOAWAY", async () => {
    const dual = await startDualApp();
    const session = await connectHttp2(dual.port);
    const stream = session.request({ ":method": "POST", ":path": "/echo", "content-type": "text/plain" });
    stream.write("half");
    await waitFor("the request to reach the server", () => dual.server.stats().http2Sessions === 1);
    await sleep(20);
    const closing = timeClose(dual.app);
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise<void>((resolve) => stream.once("end", () => resolve()));
    stream.end(" and half");
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe("half and half");
    expect(await closing).toBeLessThan(PROMPT_CLOSE_MS);
    session.close();
  });

  it("destroys h2 sessions with closeAllConnections() (forceCloseConnections: true)", async () => {
    const dual = await startDualApp();
    const session = await connectHttp2(dual.port);
    expect((await http2Request(session, { method: "GET", path: "/hello" })).status).toBe(200);
    const sessionClosed = new Promise<void>((resolve) => session.once("close", () => resolve()));
    session.on("error", () => {});
    dual.server.closeAllConnections();
    await sessionClosed;
    await waitFor("the server to drop it", async () => (await connectionCount(dual.server)) === 0);
    expect(await timeClose(dual.app)).toBeLessThan(PROMPT_CLOSE_MS);
  });
});
