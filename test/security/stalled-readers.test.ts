/**
 * A client that stops reading a stream costs the gateway a bounded amount and stops the upstream: the SSE edge and
 * the gRPC fast lane wait for 'drain' before they read on, the upstream body stops reading its socket after its
 * high-water mark (64 KB, test/providers/upstream-body.test.ts), and TCP flow control then blocks the vendor's
 * writes. The vendor here streams as fast as its socket takes bytes; each test checks that its writes block within
 * a bound (what the kernel's socket buffers on both sides of the gateway hold, a few MB on loopback) and stay
 * blocked, while the gateway's own socket buffers for the stream stay small; then that proxy.timeout ends the
 * stalled stream (its connection or h2 stream is destroyed, the upstream request aborted) instead of waiting for
 * the client forever.
 */
import diagnostics from "node:diagnostics_channel";
import type { ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startChatGateway } from "../helpers/chat-gateway.ts";
import { grpcChatClient } from "../helpers/grpc-js-client.ts";
import { type LoopbackServer, startLoopbackServer } from "../helpers/mock-server.ts";
import type { RunningServer } from "../helpers/start-server.ts";

/** Far above what a stalled stream may make the vendor send: kernel buffers, then the gateway's own. */
const UPSTREAM_BOUND = 32 * 1024 * 1024;
/** What the gateway's sockets of one stalled stream may hold in user space (their buffers plus one batch). */
const GATEWAY_SOCKET_BOUND = 512 * 1024;
/** proxy.timeout of the gateway, in seconds: long enough to watch the stall, short enough for a test. */
const TIMEOUT_S = 4;

/** What the vendor managed to send on its one stream. */
interface Flood {
  bytes: number;
  /** performance.now() when its last write returned false, undefined while writes go through. */
  blockedSince: number | undefined;
  closed: boolean;
}

let vendor: LoopbackServer;
let gateway: RunningServer;
let flood: Flood | undefined;
/** The gateway's sockets: to its clients (accepted) and to the vendor (undici's). */
const clientSockets: Socket[] = [];
const upstreamSockets: Socket[] = [];
const onUpstreamSocket = (message: unknown): void => {
  upstreamSockets.push((message as { socket: Socket }).socket);
};

beforeAll(async () => {
  diagnostics.subscribe("undici:client:connected", onUpstreamSocket);
  vendor = await startLoopbackServer((_request, _body, response) => floodEvents(response));
  gateway = await startChatGateway({ baseUrl: `${vendor.origin}/v1` }, `proxy: {timeout: ${TIMEOUT_S}}`);
  gateway.app.server.on("connection", (socket: Socket) => clientSockets.push(socket));
});
afterAll(async () => {
  diagnostics.unsubscribe("undici:client:connected", onUpstreamSocket);
  await gateway?.close();
  await vendor?.close();
});
beforeEach(() => {
  flood = undefined;
  clientSockets.length = 0;
  upstreamSockets.length = 0;
});

/** An endless stream of small chunks, written whenever the socket takes them. */
function floodEvents(response: ServerResponse): void {
  const state: Flood = { bytes: 0, blockedSince: undefined, closed: false };
  flood = state;
  response.once("close", () => {
    state.closed = true;
  });
  response.writeHead(200, { "content-type": "text/event-stream" });
  const event = `data: ${JSON.stringify({ id: "chatcmpl-flood", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "token " }, finish_reason: null }] })}\n\n`;
  const write = (): void => {
    state.blockedSince = undefined;
    while (!response.destroyed) {
      state.bytes += event.length;
      if (!response.write(event)) {
        state.blockedSince = performance.now();
        response.once("drain", write);
        return;
      }
    }
  };
  write();
}

/** Waits until the vendor's writes have been blocked for `quietMs`, then checks they stay so and bounded. */
async function expectUpstreamStalled(): Promise<number> {
  const quietMs = 500;
  await expect
    .poll(() => flood?.blockedSince !== undefined && performance.now() - flood.blockedSince > quietMs, {
      timeout: 10_000,
      interval: 50,
    })
    .toBe(true);
  const sent = flood?.bytes ?? 0;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(flood?.bytes).toBe(sent);
  expect(flood?.closed).toBe(false);
  expect(sent).toBeLessThan(UPSTREAM_BOUND);
  return sent;
}

/** Bytes the gateway's own sockets hold for the stream: unsent to the client, unread from the vendor. */
function gatewaySocketBytes(): number {
  const unsent = clientSockets.reduce((sum, socket) => sum + socket.writableLength, 0);
  const unread = upstreamSockets.reduce((sum, socket) => sum + socket.readableLength, 0);
  return unsent + unread;
}

describe("a client that stops reading", () => {
  it("SSE over HTTP/1.1 (a raw socket that never reads): the vendor is stopped, the gateway holds little, proxy.timeout ends it", async () => {
    const body = JSON.stringify({ model: "chat", stream: true, messages: [{ role: "user", content: "Hi" }] });
    const client = connect(gateway.port, "127.0.0.1");
    let received = "";
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    client.on("error", () => undefined);
    client.on("data", (chunk: Buffer) => {
      received = (received + chunk.toString("latin1")).slice(-1000);
    });
    client.pause();
    client.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    try {
      await expectUpstreamStalled();
      expect(gatewaySocketBytes()).toBeLessThan(GATEWAY_SOCKET_BOUND);
      // At proxy.timeout the gateway drops the connection (and its buffers) and aborts the upstream request.
      await expect.poll(() => clientSockets[0]?.destroyed, { timeout: TIMEOUT_S * 1000 }).toBe(true);
      expect(flood?.closed).toBe(true);
      // The client, reading again, gets what was in flight and then the end of the connection, never [DONE].
      client.resume();
      await closed;
      expect(received).not.toContain("[DONE]");
    } finally {
      client.destroy();
    }
  });

  it("gRPC fast lane (grpc-js, the call paused): the vendor is stopped, the gateway holds little, proxy.timeout ends it", async () => {
    const client = grpcChatClient(gateway.port);
    const call = client.StreamChatCompletion({ model: "chat", messages: [{ role: "user", content: "Hi" }] });
    call.on("error", () => undefined);
    const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    let messages = 0;
    call.on("data", () => {
      messages += 1;
      // One message shows the stream started; then the client stops reading.
      if (messages === 1) call.pause();
    });
    try {
      await expectUpstreamStalled();
      expect(gatewaySocketBytes()).toBeLessThan(GATEWAY_SOCKET_BOUND);
      // At proxy.timeout the gateway aborts the upstream request and ends the call while it is still paused.
      await expect.poll(() => flood?.closed, { timeout: TIMEOUT_S * 1000 }).toBe(true);
      await expect.poll(() => gateway.logs.some((line) => line.msg === "rpc failed")).toBe(true);
      call.resume();
      expect((await ended).code).not.toBe(grpc.status.OK);
    } finally {
      call.cancel();
      client.close();
    }
  });
});
