/**
 * Limits against slow and greedy clients, on a real socket: headers and the whole request must arrive within
 * server.headers_timeout / server.request_timeout (408 in OpenAI's envelope, connection closed), while responses
 * are not limited: an SSE stream and a completion that take longer than request_timeout finish. Bodies over
 * server.body_limit get 413 (HTTP) and RESOURCE_EXHAUSTED (gRPC).
 */
import { connect } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateChatCompletionRequestSchema } from "../../gen/llmproxy/v1/chat_pb.ts";
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
