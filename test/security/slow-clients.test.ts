/**
 * Limits against slow and greedy clients, on a real socket: headers and the whole request must arrive within
 * server.headers_timeout / server.request_timeout (408 in OpenAI's envelope, connection closed), while responses
 * are not limited: an SSE stream and a completion that take longer than request_timeout finish. An h2c stream
 * whose body takes longer than request_timeout gets 408 (gRPC: DEADLINE_EXCEEDED) and only that stream ends.
 * Bodies over server.body_limit get 413 (HTTP) and RESOURCE_EXHAUSTED (gRPC).
 */
import http2 from "node:http2";
import { connect } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatService, CreateChatCompletionRequestSchema } from "../../gen/llmproxy/v1/chat_pb.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";
import { envelope, rawRpc } from "./raw-grpc.ts";
import { post, sendRaw } from "./raw-http.ts";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer(`
model_config: {echo-1: echo, slow-1: slow}
providers:
  slow: {type: echo, token_delay_ms: 60}
proxy: {default_model: echo-1}
server: {headers_timeout: 0.3, request_timeout: 0.8, body_limit: 2000}
`);
});
afterAll(async () => {
  await server.close();
});

/** Writes `head` and then one of `drip` every `everyMs` until the server answers or closes. */
function dribble(head: string, drip: string, everyMs: number): Promise<{ text: string; afterMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(server.port, "127.0.0.1");
    let text = "";
    const timer = setInterval(() => socket.write(drip), everyMs);
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ text, afterMs: Date.now() - started });
    });
    socket.write(head);
  });
}

describe("slow clients", () => {
  it("get 408 when their headers take longer than headers_timeout", async () => {
    const answer = await dribble("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n", "X-Slow: 1\r\n", 100);
    expect(answer.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer.text).toMatch(/"type":"timeout_error"/);
    expect(answer.afterMs).toBeLessThan(3_000);
  });

  it("get 408 when their body takes longer than request_timeout", async () => {
    const head =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{";
    const answer = await dribble(head, " ", 100);
    expect(answer.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer.text).toMatch(/not received in time/);
    expect(answer.afterMs).toBeGreaterThanOrEqual(700);
    expect(answer.afterMs).toBeLessThan(3_000);
  });

  it("do not cut a response stream that lasts longer than request_timeout", async () => {
    const words = Array.from({ length: 25 }, (_, index) => `w${index}`).join(" ");
    const started = Date.now();
    const response = await request(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "slow-1", stream: true, messages: [{ role: "user", content: words }] }),
    });
    const text = await response.body.text();
    expect(Date.now() - started).toBeGreaterThan(1_000);
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("do not cut a completion that takes longer than request_timeout", async () => {
    const words = Array.from({ length: 20 }, (_, index) => `w${index}`).join(" ");
    const response = await request(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "slow-1", messages: [{ role: "user", content: words }] }),
    });
    expect(response.statusCode).toBe(200);
    expect(
      ((await response.body.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message
        .content,
    ).toBe(words);
  });
});

/** What an h2 stream got: response headers, body, and the RST_STREAM code it closed with. */
interface H2Outcome {
  readonly headers: http2.IncomingHttpHeaders;
  readonly body: string;
  readonly rstCode: number;
  readonly afterMs: number;
}

/** Opens an h2 stream on `session`, then writes one `drip` every `everyMs` until the stream closes. */
function dribbleH2(
  session: http2.ClientHttp2Session,
  path: string,
  headers: http2.OutgoingHttpHeaders,
  drip: Buffer,
  everyMs: number,
): Promise<H2Outcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    const stream = session.request({ ":method": "POST", ":path": path, ...headers }, { endStream: false });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let body = "";
    const write = (): void => {
      if (!stream.destroyed && stream.writable) stream.write(drip);
    };
    const timer = setInterval(write, everyMs);
    write();
    // Fails the test in seconds rather than at vitest's timeout when the server never answers.
    const giveUp = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 5_000);
    stream.on("response", (received) => {
      responseHeaders = received;
    });
    stream.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    stream.on("error", () => undefined);
    stream.on("close", () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({
        headers: responseHeaders,
        body,
        rstCode: stream.rstCode ?? 0,
        afterMs: Date.now() - started,
      });
    });
  });
}

describe("slow h2c clients", () => {
  it("get 408 in OpenAI's envelope when a stream's body takes longer than request_timeout", async () => {
    const session = http2.connect(server.url).on("error", () => undefined);
    try {
      const answer = await dribbleH2(
        session,
        "/v1/chat/completions",
        { "content-type": "application/json", "content-length": "500" },
        Buffer.from(" "),
        100,
      );
      expect(answer.headers[":status"]).toBe(408);
      expect(JSON.parse(answer.body).error).toMatchObject({
        type: "timeout_error",
        message: "The request was not received in time.",
      });
      expect(answer.afterMs).toBeGreaterThanOrEqual(700);
      expect(answer.afterMs).toBeLessThan(3_000);
      // Only the stream ends: the same connection serves the next request.
      const next = session.request({ ":method": "GET", ":path": "/health" });
      const status = await new Promise((resolve) => {
        next.on("response", (headers) => next.on("end", () => resolve(headers[":status"])).resume());
      });
      expect(status).toBe(200);
    } finally {
      session.close();
    }
  });

  it("are not served when the whole body came but END_STREAM never did", async () => {
    const session = http2.connect(server.url).on("error", () => undefined);
    try {
      const body = JSON.stringify({
        model: "echo-1",
        messages: [{ role: "user", content: "never finished" }],
      });
      const answer = await dribbleH2(
        session,
        "/v1/chat/completions",
        { "content-type": "application/json", "x-request-id": "rid-h2-no-end" },
        Buffer.from(body),
        60_000,
      );
      expect(answer.headers[":status"]).toBe(408);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const lines = server.logs.filter((line) => line.requestId === "rid-h2-no-end");
      expect(lines.find((line) => line.msg === "request completed")).toMatchObject({
        statusCode: 408,
        attempts: 0,
      });
      expect(lines.filter((line) => Number(line.level) >= 40)).toEqual([]);
    } finally {
      session.close();
    }
  });

  it("get DEADLINE_EXCEEDED on gRPC when the request message trickles in", async () => {
    const session = http2.connect(server.url).on("error", () => undefined);
    try {
      const answer = await dribbleH2(
        session,
        "/llmproxy.v1.ChatService/CreateChatCompletion",
        { "content-type": "application/grpc", te: "trailers" },
        Buffer.from([0]),
        100,
      );
      expect(answer.headers[":status"]).toBe(200);
      expect(answer.headers["grpc-status"]).toBe("4");
      expect(answer.headers["grpc-message"]).toMatch(/not received in time/);
      expect(answer.afterMs).toBeLessThan(3_000);
    } finally {
      session.close();
    }
  });

  it("do not cut a gRPC stream whose answer lasts longer than request_timeout", async () => {
    const client = createClient(ChatService, createGrpcTransport({ baseUrl: server.url }));
    const words = Array.from({ length: 25 }, (_, index) => `w${index}`).join(" ");
    const started = Date.now();
    let text = "";
    for await (const chunk of client.streamChatCompletion({
      model: "slow-1",
      messages: [{ role: "user", content: words }],
    })) {
      text += chunk.choices[0]?.delta?.content ?? "";
    }
    expect(Date.now() - started).toBeGreaterThan(1_000);
    expect(text).toBe(words);
  });
});

describe("logs", () => {
  it("no slow client above was logged as a warning or an error", () => {
    expect(server.logs.filter((line) => Number(line.level) >= 40)).toEqual([]);
  });
});

describe("body limit", () => {
  it("answers 413 over HTTP and RESOURCE_EXHAUSTED over gRPC", async () => {
    const big = JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "x".repeat(3000) }] });
    const http = await sendRaw(server.port, post(big));
    expect(http.status).toBe(413);
    expect(JSON.parse(http.body).error.code).toBe("request_too_large");
    const message = toBinary(
      CreateChatCompletionRequestSchema,
      create(CreateChatCompletionRequestSchema, {
        model: "echo-1",
        messages: [{ role: "user", content: "x".repeat(3000) }],
      }),
    );
    const rpc = await rawRpc(
      server.url,
      "/llmproxy.v1.ChatService/CreateChatCompletion",
      envelope(Buffer.from(message)),
    );
    expect(rpc.grpcStatus).toBe(8);
    expect(rpc.grpcMessage).toMatch(/larger than/);
  });
});
