/**
 * Issue 4 row 1 (retries) through real sockets: the gateway retries what is retryable (connection resets,
 * 408, 409, 429, 5xx, 529) with exponential backoff and jitter, honours retry-after-ms / retry-after up to
 * proxy.max_retry_wait, never retries what is not, and the client (openai SDK with maxRetries 0, grpc-js) sees
 * only the final answer. The fault mock records what reached the vendor and when.
 */
import * as grpc from "@grpc/grpc-js";
import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startChatGateway } from "../helpers/chat-gateway.ts";
import { type FaultRequest, type FaultUpstream, startFaultUpstream } from "../helpers/fault-upstream.ts";
import { grpcChatClient } from "../helpers/grpc-js-client.ts";
import { grpcStream, openAIClient, sdkComplete, sdkStream } from "../helpers/resilience-clients.ts";
import type { RunningServer } from "../helpers/start-server.ts";

let vendor: FaultUpstream;
let gateway: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  vendor = await startFaultUpstream();
  gateway = await startChatGateway(vendor, "proxy: {max_retries: 2, max_retry_wait: 2}");
  client = openAIClient(gateway.url);
});
afterAll(async () => {
  await gateway?.close();
  await vendor?.close();
});
beforeEach(() => vendor.clear());

/** Milliseconds between the end of one attempt and the arrival of the next. */
function gaps(requests: readonly FaultRequest[]): number[] {
  return requests.slice(1).map((request, index) => request.receivedAt - (requests[index]?.endedAt ?? 0));
}

describe("retry-after", () => {
  it("429 with retry-after-ms: waits that long, then the client sees only the answer", async () => {
    vendor.script([{ kind: "error", status: 429, headers: { "retry-after-ms": "300" } }, { kind: "stream" }]);
    const result = await sdkStream(client, "chat", { requestId: "rid-retry-after-ms" });
    expect(result.error).toBeUndefined();
    expect(result.text).toBe("Hello from the mock");
    expect(vendor.requests.map((request) => request.requestId)).toEqual([
      "rid-retry-after-ms",
      "rid-retry-after-ms",
    ]);
    const [gap] = gaps(vendor.requests);
    expect(gap).toBeGreaterThanOrEqual(295);
    expect(gap).toBeLessThan(550);
  });

  it("429 with retry-after in seconds: waits about one second", async () => {
    vendor.script([{ kind: "error", status: 429, headers: { "retry-after": "1" } }, { kind: "stream" }]);
    const result = await sdkComplete(client, "chat");
    expect(result.text).toBe("Hello from the mock");
    const [gap] = gaps(vendor.requests);
    expect(gap).toBeGreaterThanOrEqual(995);
    expect(gap).toBeLessThan(1_300);
  });

  it("a retry-after beyond proxy.max_retry_wait is not waited for: 429 at once, retry-after passed on", async () => {
    vendor.script(() => ({ kind: "error", status: 429, headers: { "retry-after": "30" } }));
    const started = performance.now();
    const result = await sdkComplete(client, "chat");
    expect(performance.now() - started).toBeLessThan(500);
    expect(result.error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((result.error as APIError).headers?.get("retry-after")).toBe("30");
    expect(vendor.requests).toHaveLength(1);
  });

  it("the client is told the vendor's own retry-after (an hour), not the gateway's 60 s cap on waiting", async () => {
    vendor.script(() => ({ kind: "error", status: 429, headers: { "retry-after": "3600" } }));
    const started = performance.now();
    const seconds = await sdkComplete(client, "chat");
    expect(performance.now() - started).toBeLessThan(500);
    expect(seconds.error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((seconds.error as APIError).headers?.get("retry-after")).toBe("3600");
    expect((seconds.error as APIError).headers?.get("retry-after-ms")).toBe("3600000");
    vendor.script(() => ({ kind: "error", status: 503, headers: { "retry-after-ms": "5400500" } }));
    const milliseconds = await sdkComplete(client, "chat");
    expect(milliseconds.error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((milliseconds.error as APIError).headers?.get("retry-after")).toBe("5401");
    expect((milliseconds.error as APIError).headers?.get("retry-after-ms")).toBe("5400500");
    expect(vendor.requests).toHaveLength(2);
  });
});

describe("backoff", () => {
  it("503 twice then success: exponential backoff with jitter (0.5 s, then 1 s, each × (0.75, 1])", async () => {
    vendor.script([{ kind: "error", status: 503 }, { kind: "error", status: 503 }, { kind: "stream" }]);
    const result = await sdkStream(client, "chat");
    expect(result.error).toBeUndefined();
    expect(result.text).toBe("Hello from the mock");
    expect(vendor.requests).toHaveLength(3);
    const [first, second] = gaps(vendor.requests);
    expect(first).toBeGreaterThanOrEqual(370);
    expect(first).toBeLessThan(750);
    expect(second).toBeGreaterThanOrEqual(745);
    expect(second).toBeLessThan(1_300);
  });

  it("gives up after 1 + max_retries attempts and passes the vendor's status on", async () => {
    vendor.script(() => ({ kind: "error", status: 500, headers: { "retry-after-ms": "0" } }));
    const result = await sdkComplete(client, "chat");
    expect(result.error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((result.error as APIError).status).toBe(500);
    expect(vendor.requests).toHaveLength(3);
  });
});

describe("what is retried", () => {
  it("retries 408, 409, 429, 500, 502, 503, 504 and 529", async () => {
    for (const status of [408, 409, 429, 500, 502, 503, 504, 529]) {
      vendor.clear();
      vendor.script([{ kind: "error", status, headers: { "retry-after-ms": "0" } }, { kind: "stream" }]);
      const result = await sdkComplete(client, "chat");
      expect(result.text, `status ${status}`).toBe("Hello from the mock");
      expect(vendor.requests, `status ${status}`).toHaveLength(2);
    }
  });

  it("does not retry 400, 401, 403, 404, 413 or 422: one attempt, the mapped status to the client", async () => {
    const expected: Record<number, number> = { 400: 400, 401: 401, 403: 403, 404: 404, 413: 413, 422: 400 };
    for (const [status, clientStatus] of Object.entries(expected)) {
      vendor.clear();
      vendor.script(() => ({ kind: "error", status: Number(status), headers: { "retry-after-ms": "0" } }));
      const result = await sdkComplete(client, "chat");
      expect((result.error as APIError).status, `status ${status}`).toBe(clientStatus);
      expect(vendor.requests, `status ${status}`).toHaveLength(1);
    }
  });

  it("retries a connection reset before the headers", async () => {
    vendor.script([{ kind: "reset" }, { kind: "reset" }, { kind: "stream" }]);
    const result = await sdkStream(client, "chat");
    expect(result.error).toBeUndefined();
    expect(result.text).toBe("Hello from the mock");
    expect(vendor.requests).toHaveLength(3);
  });

  it("reports resets on every attempt as 502 upstream_unavailable", async () => {
    vendor.script(() => ({ kind: "reset" }));
    const result = await sdkComplete(client, "chat");
    expect(result.error).toBeInstanceOf(APIError);
    expect((result.error as APIError).status).toBe(502);
    expect((result.error as APIError).code).toBe("upstream_unavailable");
    expect(vendor.requests).toHaveLength(3);
  });
});

describe("gRPC edge", () => {
  it("the same retries serve a grpc-js stream: 429 (retry-after-ms) then success", async () => {
    const grpcChat = grpcChatClient(gateway.port);
    try {
      vendor.script([
        { kind: "error", status: 429, headers: { "retry-after-ms": "200" } },
        { kind: "stream" },
      ]);
      const result = await grpcStream(grpcChat, "chat", { requestId: "rid-grpc-retry" });
      expect(result.code).toBe(grpc.status.OK);
      expect(result.text).toBe("Hello from the mock");
      expect(vendor.requests.map((request) => request.requestId)).toEqual([
        "rid-grpc-retry",
        "rid-grpc-retry",
      ]);
      expect(gaps(vendor.requests)[0]).toBeGreaterThanOrEqual(195);
    } finally {
      grpcChat.close();
    }
  });
});
