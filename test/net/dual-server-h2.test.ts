/** h2c with prior knowledge through the sniffing server: multiplexing, big bodies, preface segmentation. */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectHttp2,
  connectionCount,
  type DualApp,
  http2Request,
  startDualApp,
  waitFor,
} from "./net-test-kit.ts";
import { connectPacedHttp2 } from "./paced-socket.ts";

describe("dual server, h2c", () => {
  let dual: DualApp;
  beforeAll(async () => {
    dual = await startDualApp();
  });
  afterAll(async () => {
    await dual.app.close();
  });

  it("serves 50 concurrent streams on one session and advertises room for many gRPC calls", async () => {
    const session = await connectHttp2(dual.port);
    try {
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 === 0
            ? http2Request(session, { method: "GET", path: "/hello" })
            : http2Request(session, { method: "POST", path: "/echo", body: Buffer.from(`stream ${i}`) }),
        ),
      );
      responses.forEach((response, i) => {
        expect(response.status).toBe(200);
        if (i % 2 === 0) expect(JSON.parse(response.body.toString())).toEqual({ httpVersion: "2.0" });
        else expect(response.body.toString()).toBe(`stream ${i}`);
      });
      expect(session.remoteSettings.maxConcurrentStreams).toBe(1000);
    } finally {
      session.close();
    }
  });

  it("echoes a 900 KB body", async () => {
    const session = await connectHttp2(dual.port);
    try {
      const body = randomBytes(900 * 1024);
      const response = await http2Request(session, { method: "POST", path: "/echo", body });
      expect(response.status).toBe(200);
      expect(response.headers["x-http-version"]).toBe("2.0");
      expect(response.body.equals(body)).toBe(true);
    } finally {
      session.close();
    }
  });

  // Trap 1: the sniffer has read the preface and the frames after it out of the socket. If the socket were
  // resumed before http2 takes over, those bytes would be emitted to nobody and the server would see a bad
  // client magic. Sending preface, SETTINGS and the first HEADERS in one segment makes them all buffered.
  it("keeps the preface and the first frames that arrive in the same segment (trap 1)", async () => {
    const { session } = connectPacedHttp2(dual.port, { coalesceMs: 30 });
    try {
      const response = await http2Request(session, { method: "GET", path: "/hello" });
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body.toString())).toEqual({ httpVersion: "2.0" });
    } finally {
      session.close();
    }
  });

  it("recognises a preface split across several reads", async () => {
    // "P" | "RI * HTTP/2.0\r\n\r" | "\nSM\r\n\r" | the preface's last byte and the frames.
    const { session } = connectPacedHttp2(dual.port, { split: [1, 16, 6] });
    try {
      const response = await http2Request(session, {
        method: "POST",
        path: "/echo",
        body: Buffer.from("split"),
      });
      expect(response.status).toBe(200);
      expect(response.body.toString()).toBe("split");
    } finally {
      session.close();
    }
  });

  it("leaves no connection or session behind once clients are done", async () => {
    await waitFor("connections to drain", async () => (await connectionCount(dual.server)) === 0);
    expect(dual.server.stats()).toEqual({ sniffing: 0, http2Sessions: 0 });
  });
});

describe("dual server, h2 session timeout", () => {
  it("closes an idle h2 session after http2SessionTimeoutMs", async () => {
    const dual = await startDualApp({ http2SessionTimeoutMs: 150 });
    try {
      const session = await connectHttp2(dual.port);
      const goaway = new Promise<void>((resolve) => session.once("goaway", () => resolve()));
      await http2Request(session, { method: "GET", path: "/hello" });
      await goaway;
      await waitFor("the session to close", async () => (await connectionCount(dual.server)) === 0);
      expect(dual.server.stats().http2Sessions).toBe(0);
    } finally {
      await dual.app.close();
    }
  });
});
