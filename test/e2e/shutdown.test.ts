/**
 * Issue 4 row 7 (graceful shutdown) with the real process (`node src/main.ts`): SIGTERM while 50 streams are
 * open (20 SSE over HTTP/1.1, 5 SSE over h2c, 25 gRPC over one h2c connection) stops accepting at once, lets every stream finish
 * ([DONE] / OK with the whole text) and exits 0; with a drain timeout shorter than the streams, the remaining
 * streams end with an error event / UNAVAILABLE and the process exits 0 promptly. The slow upstream is the echo
 * provider with token_delay_ms.
 */
import { type ClientHttp2Session, connect as connectH2 } from "node:http2";
import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { killGatewayProcesses, startGatewayProcess, writeTempConfig } from "../helpers/gateway-process.ts";
import { type GrpcChatClient, grpcChatClient } from "../helpers/grpc-js-client.ts";
import type { GrpcStreamResult } from "../helpers/resilience-clients.ts";

afterEach(killGatewayProcesses);

/** Starts `node src/main.ts` on a port from the OS with the given YAML. */
function startGateway(yaml: string) {
  return startGatewayProcess(["--config", writeTempConfig(yaml), "--log-level", "info"]);
}

const WORDS = (count: number) => Array.from({ length: count }, (_, index) => `w${index}`).join(" ");

/** What one SSE stream saw: the text of its deltas, whether it ended with [DONE], and its error event if any. */
interface SseOutcome {
  readonly text: string;
  readonly done: boolean;
  readonly error: { code?: string; type?: string; message?: string } | undefined;
}

/** The body of one SSE chat: over HTTP/1.1 (undici) or h2c (node:http2, prior knowledge). */
async function sseBody(
  via: Agent | ClientHttp2Session,
  port: number,
  content: string,
): Promise<AsyncIterable<unknown>> {
  const body = JSON.stringify({ model: "slow", stream: true, messages: [{ role: "user", content }] });
  if (via instanceof Agent) {
    const response = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      dispatcher: via,
      headers: { "content-type": "application/json" },
      body,
    });
    return response.body;
  }
  const stream = via.request({
    ":method": "POST",
    ":path": "/v1/chat/completions",
    "content-type": "application/json",
  });
  stream.on("error", () => undefined);
  stream.end(body);
  return stream;
}

/** Opens an SSE chat; resolves `started` at the first content delta, `finished` with the outcome. */
function openSse(via: Agent | ClientHttp2Session, port: number, content: string) {
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const finished = (async (): Promise<SseOutcome> => {
    let raw = "";
    for await (const piece of await sseBody(via, port, content)) {
      raw += String(piece);
      if (raw.includes('"content":"w')) markStarted();
    }
    const events = raw
      .split("\n\n")
      .filter(Boolean)
      .map((event) => event.replace(/^data: /, ""));
    let text = "";
    let error: SseOutcome["error"];
    for (const event of events) {
      if (event === "[DONE]") continue;
      const json = JSON.parse(event) as {
        choices?: { delta?: { content?: string } }[];
        error?: SseOutcome["error"];
      };
      text += json.choices?.[0]?.delta?.content ?? "";
      error ??= json.error;
    }
    return { text, done: events.at(-1) === "[DONE]", error };
  })();
  return { started, finished };
}

/** Opens a gRPC stream; `started` resolves at the first message. */
function openGrpc(client: GrpcChatClient, content: string) {
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const metadata = new grpc.Metadata();
  const call = client.StreamChatCompletion(
    { model: "slow", messages: [{ role: "user", content }] },
    metadata,
  );
  let text = "";
  const finished = new Promise<GrpcStreamResult>((resolve) => {
    call.on("data", (chunk: { choices?: { delta?: { content?: string } }[] }) => {
      text += chunk.choices?.[0]?.delta?.content ?? "";
      if (text !== "") markStarted();
    });
    call.on("error", () => undefined);
    call.on("status", (status: grpc.StatusObject) =>
      resolve({
        text,
        messages: 0,
        code: status.code,
        details: status.details,
        cancelledAt: undefined,
        endedAt: performance.now(),
      }),
    );
  });
  return { started, finished };
}

/** Resolves true once a new TCP connection to the port is refused (polled), false after `withinMs`. */
async function refusesConnections(port: number, withinMs: number): Promise<boolean> {
  const deadline = performance.now() + withinMs;
  while (performance.now() < deadline) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
    });
    if (refused) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

/** The gateway's chat requests in flight, every API and protocol summed, from GET /metrics. */
async function requestsInFlight(port: number): Promise<number> {
  const response = await request(`http://127.0.0.1:${port}/metrics`);
  return (await response.body.text())
    .split("\n")
    .filter((line) => line.startsWith("llm_proxy_requests_in_flight{"))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

/** 20 SSE over HTTP/1.1, 5 SSE over h2c and 25 gRPC streams of `words` echo tokens, all started. */
async function openFiftyStreams(port: number, words: number) {
  const agent = new Agent({ connections: 50 });
  const session = connectH2(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  const client = grpcChatClient(port);
  const content = WORDS(words);
  const sse = [
    ...Array.from({ length: 20 }, () => openSse(agent, port, content)),
    ...Array.from({ length: 5 }, () => openSse(session, port, content)),
  ];
  const rpc = Array.from({ length: 25 }, () => openGrpc(client, content));
  await Promise.all([...sse, ...rpc].map((stream) => stream.started));
  return {
    content,
    sse: Promise.all(sse.map((stream) => stream.finished)),
    rpc: Promise.all(rpc.map((stream) => stream.finished)),
    close: async () => {
      client.close();
      session.destroy();
      await agent.close();
    },
  };
}

describe("graceful shutdown of node src/main.ts", () => {
  it("SIGTERM during 50 open streams: new connections refused, every stream completes, exit 0", async () => {
    // 25 tokens 40 ms apart: each stream runs about one second.
    const gateway = await startGateway(`model_config: {slow: slow-echo}
providers: {slow-echo: {type: echo, token_delay_ms: 40}}
server: {drain_timeout: 10}
`);
    const streams = await openFiftyStreams(gateway.port, 25);
    const signalledAt = performance.now();
    gateway.child.kill("SIGTERM");
    expect(await refusesConnections(gateway.port, 1_000)).toBe(true);
    const [sse, rpc] = await Promise.all([streams.sse, streams.rpc]);
    const { code, at } = await gateway.exited;
    await streams.close();
    expect(sse.filter((outcome) => outcome.done && outcome.text === streams.content)).toHaveLength(25);
    expect(
      rpc.filter((outcome) => outcome.code === grpc.status.OK && outcome.text === streams.content),
    ).toHaveLength(25);
    expect(code).toBe(0);
    // It waited for the streams (about a second), not for the drain timeout nor for idle keep-alive connections.
    expect(at - signalledAt).toBeLessThan(3_000);
    expect(gateway.lines.some((line) => line.includes("shutting down"))).toBe(true);
  });

  it("a drain timeout shorter than the streams: they end with an error event / UNAVAILABLE, exit 0 promptly", async () => {
    // 60 tokens 50 ms apart: three seconds, far beyond the 0.3 s drain timeout.
    const gateway = await startGateway(`model_config: {slow: slow-echo}
providers: {slow-echo: {type: echo, token_delay_ms: 50}}
server: {drain_timeout: 0.3}
`);
    const streams = await openFiftyStreams(gateway.port, 60);
    const streaming = await requestsInFlight(gateway.port);
    // A plain JSON request still waiting for its whole answer.
    const json = request(`http://127.0.0.1:${gateway.port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "slow", messages: [{ role: "user", content: streams.content }] }),
    });
    // Signalled only once the gateway serves it: a request still unread on its connection when the shutdown closes
    // idle connections is reset instead (what a fixed 50 ms wait let happen on a loaded machine).
    await expect.poll(() => requestsInFlight(gateway.port)).toBe(streaming + 1);
    const signalledAt = performance.now();
    gateway.child.kill("SIGTERM");
    const [sse, rpc] = await Promise.all([streams.sse, streams.rpc]);
    const jsonResponse = await json;
    const { code, at } = await gateway.exited;
    await streams.close();
    expect(code).toBe(0);
    expect(at - signalledAt).toBeLessThan(2_000);
    expect(jsonResponse.statusCode).toBe(503);
    expect(await jsonResponse.body.json()).toMatchObject({
      error: { code: "shutting_down", type: "server_error" },
    });
    for (const outcome of sse) {
      expect(outcome.done).toBe(false);
      expect(outcome.text.length).toBeGreaterThan(0);
      expect(outcome.text.length).toBeLessThan(streams.content.length);
      expect(outcome.error).toMatchObject({ code: "shutting_down", type: "server_error" });
    }
    for (const outcome of rpc) {
      expect(outcome.code).toBe(grpc.status.UNAVAILABLE);
      expect(outcome.details).toMatch(/shutting down/);
    }
  });

  it("a second signal ends the drain at once", async () => {
    const gateway = await startGateway(`model_config: {slow: slow-echo}
providers: {slow-echo: {type: echo, token_delay_ms: 50}}
server: {drain_timeout: 30}
`);
    const streams = await openFiftyStreams(gateway.port, 60);
    gateway.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const secondAt = performance.now();
    gateway.child.kill("SIGINT");
    const [sse, rpc] = await Promise.all([streams.sse, streams.rpc]);
    const { code, at } = await gateway.exited;
    await streams.close();
    expect(code).toBe(0);
    expect(at - secondAt).toBeLessThan(2_000);
    expect(sse.every((outcome) => outcome.error?.code === "shutting_down")).toBe(true);
    expect(rpc.every((outcome) => outcome.code === grpc.status.UNAVAILABLE)).toBe(true);
  });
});
