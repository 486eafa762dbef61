/**
 * Issue 4 row 2 (timeouts) through real sockets, one stall past each timeout: proxy.timeout (the total budget,
 * retries included), first_token_timeout (retried elsewhere), stream_idle_timeout (mid-stream, never retried)
 * and connect_timeout (a listening socket whose accept queue is full, so the SYN is never answered). Each ends in
 * 504 / timeout_error on HTTP (an error event once streaming) and DEADLINE_EXCEEDED on gRPC, and the vendor sees
 * its request aborted when the timer fires.
 */
import net from "node:net";
import { Worker } from "node:worker_threads";
import * as grpc from "@grpc/grpc-js";
import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startChatGateway } from "../helpers/chat-gateway.ts";
import { type FaultUpstream, startFaultUpstream, waitFor } from "../helpers/fault-upstream.ts";
import { type GrpcChatClient, grpcChatClient } from "../helpers/grpc-js-client.ts";
import { grpcStream, openAIClient, sdkComplete, sdkStream } from "../helpers/resilience-clients.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

let vendor: FaultUpstream;
const gateways: RunningServer[] = [];
const grpcClients: GrpcChatClient[] = [];

async function gatewayWith(proxy: string): Promise<RunningServer> {
  const gateway = await startChatGateway(vendor, `proxy: ${proxy}`);
  gateways.push(gateway);
  return gateway;
}

function grpcOf(gateway: RunningServer): GrpcChatClient {
  const client = grpcChatClient(gateway.port);
  grpcClients.push(client);
  return client;
}

beforeAll(async () => {
  vendor = await startFaultUpstream();
});
afterAll(async () => {
  for (const client of grpcClients) client.close();
  await Promise.all(gateways.map((gateway) => gateway.close()));
  await vendor?.close();
});
beforeEach(() => vendor.clear());

/** Milliseconds from the vendor receiving request `index` to the gateway aborting it. */
function abortedAfter(index: number): number {
  const request = vendor.requests[index];
  if (request?.abortedAt === undefined) throw new Error(`request ${index} was not aborted`);
  return request.abortedAt - request.receivedAt;
}

describe("proxy.timeout (total budget)", () => {
  let gateway: RunningServer;
  beforeAll(async () => {
    gateway = await gatewayWith("{timeout: 0.4, max_retries: 5}");
  });

  it("a stalled vendor: 504 timeout_error after the budget, upstream aborted, not retried", async () => {
    vendor.script(() => ({ kind: "stall" }));
    const started = performance.now();
    const result = await sdkComplete(openAIClient(gateway.url), "chat");
    const elapsed = performance.now() - started;
    expect(result.error).toBeInstanceOf(APIError);
    expect((result.error as APIError).status).toBe(504);
    expect((result.error as APIError).type).toBe("timeout_error");
    // Without the budget the stalled request would wait out the SDK's ten-minute timeout, so a bound of five
    // budgets still proves the timer ended it; the slack is for a loaded machine (1.4 s seen with the suite, a
    // benchmark and a type check sharing two cores), where this process's timers fire late.
    expect(elapsed).toBeGreaterThanOrEqual(395);
    expect(elapsed).toBeLessThan(2_000);
    await waitFor(() => vendor.requests[0]?.abortedAt !== undefined);
    // The budget runs from the gateway's start of the request, before the vendor receives it.
    expect(abortedAfter(0)).toBeLessThan(2_000);
    expect(vendor.requests).toHaveLength(1);
  });

  it("covers the retries: a retry-after that outlasts the budget ends in 504, not in a late attempt", async () => {
    // The second retry-after (5 s) is far past the budget: a gateway whose wait outlives the budget answers after
    // 5 s, one whose budget cuts the wait answers at 0.4 s; 2 s separates them on a loaded machine too.
    vendor.script([
      { kind: "error", status: 503, headers: { "retry-after-ms": "300" } },
      { kind: "error", status: 503, headers: { "retry-after-ms": "5000" } },
    ]);
    const started = performance.now();
    const result = await sdkComplete(openAIClient(gateway.url), "chat");
    expect((result.error as APIError).status).toBe(504);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(vendor.requests).toHaveLength(2);
  });

  it("gRPC: DEADLINE_EXCEEDED", async () => {
    vendor.script(() => ({ kind: "stall" }));
    const result = await grpcStream(grpcOf(gateway), "chat");
    expect(result.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(result.details).toMatch(/proxy\.timeout/);
    await waitFor(() => vendor.requests[0]?.abortedAt !== undefined);
  });
});

describe("proxy.first_token_timeout", () => {
  let gateway: RunningServer;
  beforeAll(async () => {
    gateway = await gatewayWith("{first_token_timeout: 0.2, max_retries: 1}");
  });

  it("a stall before the headers is abandoned after 0.2 s and retried; the client sees the answer", async () => {
    vendor.script([{ kind: "stall" }, { kind: "stream" }]);
    const result = await sdkStream(openAIClient(gateway.url), "chat");
    expect(result.error).toBeUndefined();
    expect(result.text).toBe("Hello from the mock");
    expect(vendor.requests).toHaveLength(2);
    // The attempt's timer starts before its body reaches the vendor, so this can be a little under 200.
    expect(abortedAfter(0)).toBeGreaterThanOrEqual(150);
    expect(abortedAfter(0)).toBeLessThan(400);
  });

  it("a slow first byte counts too", async () => {
    vendor.script([{ kind: "stream", headersDelayMs: 1_000 }, { kind: "stream" }]);
    const result = await sdkStream(openAIClient(gateway.url), "chat");
    expect(result.text).toBe("Hello from the mock");
    expect(abortedAfter(0)).toBeLessThan(400);
  });

  it("when every attempt stalls: 504 on HTTP, DEADLINE_EXCEEDED on gRPC, each attempt aborted", async () => {
    vendor.script(() => ({ kind: "stall" }));
    const result = await sdkComplete(openAIClient(gateway.url), "chat");
    expect((result.error as APIError).status).toBe(504);
    expect((result.error as APIError).message).toMatch(/No response from the upstream within 0\.2 s/);
    expect(vendor.requests).toHaveLength(2);
    await waitFor(() => vendor.requests.every((request) => request.abortedAt !== undefined));
    vendor.clear();
    const rpc = await grpcStream(grpcOf(gateway), "chat");
    expect(rpc.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(vendor.requests).toHaveLength(2);
  });
});

describe("proxy.stream_idle_timeout", () => {
  let gateway: RunningServer;
  beforeAll(async () => {
    gateway = await gatewayWith("{stream_idle_timeout: 0.2, max_retries: 2}");
  });

  it("a stream that stalls after two chunks ends with an error event; the upstream is aborted; no retry", async () => {
    vendor.script([{ kind: "stream", afterPieces: 2, ending: "stall" }]);
    const result = await sdkStream(openAIClient(gateway.url), "chat");
    expect(result.text).toBe("Hello from");
    expect(result.error).toBeInstanceOf(APIError);
    expect((result.error as APIError).type).toBe("timeout_error");
    expect((result.error as APIError).message).toMatch(/idle for 0\.2 s/);
    expect(vendor.requests).toHaveLength(1);
    // The chunks went out as the request arrived; the abort is the idle timer's.
    await waitFor(() => vendor.requests[0]?.abortedAt !== undefined);
    expect(abortedAfter(0)).toBeGreaterThanOrEqual(195);
    expect(abortedAfter(0)).toBeLessThan(400);
  });

  it("gRPC: the chunks before the stall, then DEADLINE_EXCEEDED", async () => {
    vendor.script([{ kind: "stream", afterPieces: 2, ending: "stall" }]);
    const result = await grpcStream(grpcOf(gateway), "chat");
    expect(result.text).toBe("Hello from");
    expect(result.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(vendor.requests).toHaveLength(1);
  });

  it("is per gap, not per stream: a slow steady stream longer than the timeout completes", async () => {
    vendor.script([{ kind: "stream", pieces: ["a", "b", "c", "d", "e"], chunkDelayMs: 100 }]);
    const result = await sdkStream(openAIClient(gateway.url), "chat");
    expect(result.error).toBeUndefined();
    expect(result.text).toBe("abcde");
  });
});

/**
 * A loopback port that never completes a TCP handshake: a worker thread listens with backlog 1 and blocks its
 * event loop, so nothing accepts; two connections fill the accept queue and Linux drops further SYNs.
 */
async function startBlackhole(): Promise<{ port: number; close: () => Promise<void> }> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const server = require("node:net").createServer();
     server.listen({ host: "127.0.0.1", port: 0, backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       Atomics.wait(workerData, 0, 0, 60000);
       server.close();
     });`,
    { eval: true, workerData: flag },
  );
  const port = await new Promise<number>((resolve) => worker.once("message", resolve));
  const fillers: net.Socket[] = [];
  for (let count = 0; count < 8; count++) {
    const socket = net.connect(port, "127.0.0.1");
    fillers.push(socket);
    socket.on("error", () => undefined);
    const connected = await new Promise<boolean>((resolve) => {
      socket.once("connect", () => resolve(true));
      setTimeout(() => resolve(false), 200).unref();
    });
    if (!connected) break;
  }
  return {
    port,
    close: async () => {
      for (const socket of fillers) socket.destroy();
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await worker.terminate();
    },
  };
}

describe("proxy.connect_timeout", () => {
  let blackhole: Awaited<ReturnType<typeof startBlackhole>>;
  let gateway: RunningServer;
  beforeAll(async () => {
    blackhole = await startBlackhole();
    gateway = await startServer(`
providers:
  vendor: {type: openai, base_url: "${vendor.baseUrl}"}
  blackhole: {type: openai, base_url: "http://127.0.0.1:${blackhole.port}/v1"}
model_config: {chat: blackhole, spare: vendor}
fallbacks: {chat: [spare]}
proxy: {connect_timeout: 0.2, max_retries: 0}
`);
    gateways.push(gateway);
  });
  afterAll(async () => {
    await blackhole?.close();
  });

  it("a vendor that never accepts the connection times out and the request falls back", async () => {
    const started = performance.now();
    const result = await sdkStream(openAIClient(gateway.url), "chat");
    expect(result.error).toBeUndefined();
    expect(result.text).toBe("Hello from the mock");
    // undici's connect timer has about one second of resolution above its 1 s fast-timer threshold.
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(vendor.requests.map((request) => request.model)).toEqual(["spare"]);
  });

  it("with nothing to fall back to: 504 timeout_error on HTTP, DEADLINE_EXCEEDED on gRPC", async () => {
    const result = await sdkComplete(openAIClient(gateway.url), "blackhole/any-model");
    expect(result.error).toBeInstanceOf(OpenAI.APIError);
    expect((result.error as APIError).status).toBe(504);
    expect((result.error as APIError).message).toMatch(/connect_timeout/);
    const rpc = await grpcStream(grpcOf(gateway), "blackhole/any-model");
    expect(rpc.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(vendor.requests).toHaveLength(0);
  });
});
