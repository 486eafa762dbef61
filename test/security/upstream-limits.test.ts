/**
 * Caps on upstream answers (proxy.max_response_bytes, proxy.max_sse_event_bytes): a vendor that sends a whole
 * answer or a single stream event larger than its cap gets its request aborted after about the cap, and the
 * client a clear `bad_upstream_response` in its protocol's shape (OpenAI SDK, grpc-js, Connect), never a body
 * buffered whole. The mock paces its oversized bodies so it can tell an early abort from a body read to its end.
 */
import type { ServerResponse } from "node:http";
import * as grpc from "@grpc/grpc-js";
import { APIError } from "openai";
import { request } from "undici";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { grpcChatClient } from "../helpers/grpc-js-client.ts";
import { type LoopbackServer, parseJsonObject, startLoopbackServer } from "../helpers/mock-server.ts";
import {
  grpcStream,
  grpcUnary,
  openAIClient,
  sdkComplete,
  sdkStream,
} from "../helpers/resilience-clients.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_EVENT_BYTES = 32 * 1024;
/** What the mock sends of an oversized body: far above both caps, in paced pieces. */
const OVERSIZED_BYTES = 2 * 1024 * 1024;
const PIECE_BYTES = 16 * 1024;

/** One oversized answer as the mock saw it. */
interface Sent {
  bytes: number;
  /** The gateway closed the request before the mock had sent everything. */
  aborted: boolean;
}

let vendor: LoopbackServer;
let gateway: RunningServer;
const sent: Sent[] = [];

beforeAll(async () => {
  vendor = await startLoopbackServer((_request, raw, response) => {
    const body = parseJsonObject(raw);
    const model = typeof body.model === "string" ? body.model : "";
    if (body.stream === false) void answerJson(model, response);
    else void answerSse(model, response);
  });
  gateway = await startServer(`
providers:
  vendor: {type: openai, base_url: "${vendor.origin}/v1"}
model_config: {big-answer: vendor, big-event: vendor, small: vendor}
proxy: {max_response_bytes: ${MAX_RESPONSE_BYTES}, max_sse_event_bytes: ${MAX_EVENT_BYTES}, max_retries: 0}
`);
});
afterAll(async () => {
  await gateway?.close();
  await vendor?.close();
});
beforeEach(() => {
  sent.length = 0;
});

const chunk = (delta: object, finish: string | null = null): string =>
  `data: ${JSON.stringify({ id: "chatcmpl-big", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

/** `big-answer`: a completion whose content is OVERSIZED_BYTES long; anything else a short one. */
async function answerJson(model: string, response: ServerResponse): Promise<void> {
  response.writeHead(200, { "content-type": "application/json" });
  const content = model === "big-answer" ? "x".repeat(OVERSIZED_BYTES) : "small answer";
  const completion = JSON.stringify({
    id: "chatcmpl-big",
    object: "chat.completion",
    created: 1,
    model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  });
  await sendPaced(response, completion);
}

/** `big-event`: one normal chunk, then one event of OVERSIZED_BYTES; anything else a short stream. */
async function answerSse(model: string, response: ServerResponse): Promise<void> {
  response.writeHead(200, { "content-type": "text/event-stream" });
  response.write(chunk({ role: "assistant", content: "Hello" }));
  const middle =
    model === "big-event" ? chunk({ content: "y".repeat(OVERSIZED_BYTES) }) : chunk({ content: "!" });
  await sendPaced(response, `${middle}${chunk({}, "stop")}data: [DONE]\n\n`);
}

/** Writes `text` in PIECE_BYTES pieces a millisecond apart, recording how far it got. */
async function sendPaced(response: ServerResponse, text: string): Promise<void> {
  const record: Sent = { bytes: 0, aborted: false };
  if (text.length > PIECE_BYTES) sent.push(record);
  response.once("close", () => {
    record.aborted = !response.writableFinished;
  });
  for (let at = 0; at < text.length; at += PIECE_BYTES) {
    if (response.destroyed) return;
    response.write(text.slice(at, at + PIECE_BYTES));
    record.bytes = Math.min(text.length, at + PIECE_BYTES);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  response.end();
}

/** The one oversized answer of the test was cut short by the gateway, near the cap. */
async function expectAbortedNear(cap: number): Promise<void> {
  await expect.poll(() => sent[0]?.aborted).toBe(true);
  expect(sent).toHaveLength(1);
  expect(sent[0]?.bytes).toBeLessThan(cap + 8 * PIECE_BYTES);
}

describe("an answer over proxy.max_response_bytes", () => {
  it("OpenAI SDK: 502 bad_upstream_response naming the cap, and the upstream request is aborted", async () => {
    const result = await sdkComplete(openAIClient(gateway.url), "big-answer");
    expect(result.error).toBeInstanceOf(APIError);
    const error = result.error as APIError;
    expect(error.status).toBe(502);
    expect(error.code).toBe("bad_upstream_response");
    expect(error.message).toContain("proxy.max_response_bytes (65536 bytes)");
    await expectAbortedNear(MAX_RESPONSE_BYTES);
  });

  it("gRPC (grpc-js unary): INTERNAL with the same message", async () => {
    const client = grpcChatClient(gateway.port);
    try {
      const result = await grpcUnary(client, "big-answer");
      expect(result.code).toBe(grpc.status.INTERNAL);
      expect(result.details).toContain("proxy.max_response_bytes");
    } finally {
      client.close();
    }
    await expectAbortedNear(MAX_RESPONSE_BYTES);
  });

  it("Connect JSON: 500 `internal` with the same message", async () => {
    const response = await request(`${gateway.url}/llmproxy.v1.ChatService/CreateChatCompletion`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "big-answer", messages: [{ role: "user", content: "Hello" }] }),
    });
    const body = (await response.body.json()) as { code?: string; message?: string };
    expect(response.statusCode).toBe(500);
    expect(body.code).toBe("internal");
    expect(body.message).toContain("proxy.max_response_bytes");
    await expectAbortedNear(MAX_RESPONSE_BYTES);
  });

  it("answers under the cap are served as usual", async () => {
    const result = await sdkComplete(openAIClient(gateway.url), "small");
    expect(result.text).toBe("small answer");
  });
});

describe("a stream event over proxy.max_sse_event_bytes", () => {
  it("OpenAI SDK: the text so far, then APIError bad_upstream_response; the upstream request is aborted", async () => {
    const result = await sdkStream(openAIClient(gateway.url), "big-event");
    expect(result.text).toBe("Hello");
    expect(result.error).toBeInstanceOf(APIError);
    expect((result.error as APIError).code).toBe("bad_upstream_response");
    expect((result.error as APIError).message).toContain("proxy.max_sse_event_bytes (32768 bytes)");
    await expectAbortedNear(MAX_EVENT_BYTES);
  });

  it("gRPC (grpc-js stream): the text so far, then INTERNAL naming the cap", async () => {
    const client = grpcChatClient(gateway.port);
    try {
      const result = await grpcStream(client, "big-event");
      expect(result.text).toBe("Hello");
      expect(result.code).toBe(grpc.status.INTERNAL);
      expect(result.details).toContain("proxy.max_sse_event_bytes");
    } finally {
      client.close();
    }
    await expectAbortedNear(MAX_EVENT_BYTES);
  });

  it("streams of small events are served as usual", async () => {
    const result = await sdkStream(openAIClient(gateway.url), "small");
    expect(result.error).toBeUndefined();
    expect(result.text).toBe("Hello!");
  });
});
