/**
 * Issue 4 row 3 (fallbacks across vendors) through real sockets: two fault mocks stand for two vendors. Rate
 * limits, 5xx, refused connections, a bad key and a broken first event move on to the `fallbacks` model on the
 * other vendor; a malformed request (400) does not; a context-window 400 goes to `context_window_fallbacks`.
 * The mocks record which vendor got which upstream model and how often.
 */
import * as grpc from "@grpc/grpc-js";
import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { errorEnvelope, type FaultUpstream, startFaultUpstream } from "../helpers/fault-upstream.ts";
import { freePort } from "../helpers/free-port.ts";
import { grpcChatClient } from "../helpers/grpc-js-client.ts";
import { grpcStream, openAIClient, sdkComplete, sdkStream } from "../helpers/resilience-clients.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

let primary: FaultUpstream;
let secondary: FaultUpstream;
let gateway: RunningServer;
let client: OpenAI;
let closedPort: number;

beforeAll(async () => {
  [primary, secondary] = await Promise.all([startFaultUpstream(), startFaultUpstream()]);
  closedPort = await freePort();
  gateway = await startServer(`
providers:
  vendor-a: {type: openai, base_url: "${primary.baseUrl}"}
  vendor-b: {type: openai, base_url: "${secondary.baseUrl}"}
  nowhere: {type: openai, base_url: "http://127.0.0.1:${closedPort}/v1"}
model_config:
  chat: vendor-a
  chat-spare: vendor-b
  chat-large: vendor-b
  unreachable: nowhere
model_routes:
  vendor-a: {chat: a-small}
  vendor-b: {chat-spare: b-spare, chat-large: b-large-context}
fallbacks:
  chat: [chat-spare]
  unreachable: [chat-spare]
context_window_fallbacks:
  chat: [chat-large]
proxy: {max_retries: 1}
`);
  client = openAIClient(gateway.url);
});
afterAll(async () => {
  await gateway?.close();
  await Promise.all([primary?.close(), secondary?.close()]);
});
beforeEach(() => {
  primary.clear();
  secondary.clear();
  primary.script([]);
  secondary.script([]);
});

const models = (mock: FaultUpstream): string[] => mock.requests.map((request) => request.model);

describe("fallback-worthy failures move to the second vendor", () => {
  it("429 on every retry → the fallback model on vendor B answers", async () => {
    primary.script(() => ({ kind: "error", status: 429, headers: { "retry-after-ms": "0" } }));
    const result = await sdkStream(client, "chat", { requestId: "rid-fallback-429" });
    expect(result.error).toBeUndefined();
    expect(result.text).toBe("Hello from the mock");
    expect(models(primary)).toEqual(["a-small", "a-small"]);
    expect(models(secondary)).toEqual(["b-spare"]);
    expect(secondary.requests[0]?.requestId).toBe("rid-fallback-429");
  });

  it("500 and 503 → fallback after the retries", async () => {
    for (const status of [500, 503]) {
      primary.clear();
      secondary.clear();
      primary.script(() => ({ kind: "error", status, headers: { "retry-after-ms": "0" } }));
      const result = await sdkComplete(client, "chat");
      expect(result.text, `status ${status}`).toBe("Hello from the mock");
      expect(models(primary)).toHaveLength(2);
      expect(models(secondary)).toEqual(["b-spare"]);
    }
  });

  it("a bad key (401) skips the retries and falls back at once", async () => {
    primary.script(() => ({ kind: "error", status: 401 }));
    const result = await sdkComplete(client, "chat");
    expect(result.text).toBe("Hello from the mock");
    expect(models(primary)).toEqual(["a-small"]);
    expect(models(secondary)).toEqual(["b-spare"]);
  });

  it("a malformed first event (bad_upstream_response before any chunk) falls back without a retry", async () => {
    primary.script([{ kind: "malformed" }]);
    const result = await sdkStream(client, "chat");
    expect(result.text).toBe("Hello from the mock");
    expect(models(primary)).toEqual(["a-small"]);
    expect(models(secondary)).toEqual(["b-spare"]);
  });

  it("a refused connection (closed port) is retried, then falls back", async () => {
    const result = await sdkComplete(client, "unreachable", "rid-refused");
    expect(result.text).toBe("Hello from the mock");
    expect(models(secondary)).toEqual(["b-spare"]);
    const failed = gateway.logs.filter(
      (line) => line.requestId === "rid-refused" && line.msg === "upstream attempt failed",
    );
    expect(failed.map((line) => line.kind)).toEqual(["upstream_unavailable", "upstream_unavailable"]);
  });

  it("gRPC: the same fallback serves a grpc-js stream", async () => {
    primary.script(() => ({ kind: "error", status: 503, headers: { "retry-after-ms": "0" } }));
    const rpc = grpcChatClient(gateway.port);
    try {
      const result = await grpcStream(rpc, "chat");
      expect(result.code).toBe(grpc.status.OK);
      expect(result.text).toBe("Hello from the mock");
      expect(models(secondary)).toEqual(["b-spare"]);
    } finally {
      rpc.close();
    }
  });
});

describe("failures that do not fall back", () => {
  it("a malformed request (400): the vendor's message, one attempt, vendor B never asked", async () => {
    primary.script([
      {
        kind: "error",
        status: 400,
        body: errorEnvelope("'temperature' must be ≤ 2", "invalid_request_error"),
      },
    ]);
    const result = await sdkComplete(client, "chat");
    expect(result.error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((result.error as APIError).message).toMatch(/temperature/);
    expect(models(primary)).toEqual(["a-small"]);
    expect(secondary.requests).toHaveLength(0);
  });

  it("every fallback failing: the client gets the last failure", async () => {
    primary.script(() => ({ kind: "error", status: 503, headers: { "retry-after-ms": "0" } }));
    secondary.script(() => ({ kind: "error", status: 502, headers: { "retry-after-ms": "0" } }));
    const result = await sdkComplete(client, "chat");
    expect((result.error as APIError).status).toBe(502);
    expect(models(primary)).toHaveLength(2);
    expect(models(secondary)).toHaveLength(2);
  });
});

describe("context_window_fallbacks", () => {
  it("a context-window 400 switches to the larger model, skipping the ordinary fallbacks", async () => {
    primary.script([
      {
        kind: "error",
        status: 400,
        body: errorEnvelope(
          "This model's maximum context length is 8192 tokens.",
          "invalid_request_error",
          "context_length_exceeded",
        ),
      },
    ]);
    const result = await sdkStream(client, "chat");
    expect(result.error).toBeUndefined();
    expect(result.text).toBe("Hello from the mock");
    expect(models(primary)).toEqual(["a-small"]);
    expect(models(secondary)).toEqual(["b-large-context"]);
  });
});
