/**
 * Issue 4 row 6 (mid-stream failure) through real sockets: once the first chunk has reached the client, a
 * vendor that resets the connection, sends malformed SSE or an error event ends the stream with an
 * OpenAI-shaped `error` event (never a silent truncation, never a hang) on SSE and with a proper status on gRPC,
 * and is never retried nor routed to the configured fallback.
 */
import * as grpc from "@grpc/grpc-js";
import { APIError } from "openai";
import { request } from "undici";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FaultStep, type FaultUpstream, startFaultUpstream } from "../helpers/fault-upstream.ts";
import { grpcChatClient } from "../helpers/grpc-js-client.ts";
import { grpcStream, openAIClient, sdkStream } from "../helpers/resilience-clients.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

let vendor: FaultUpstream;
let spare: FaultUpstream;
let gateway: RunningServer;

beforeAll(async () => {
  [vendor, spare] = await Promise.all([startFaultUpstream(), startFaultUpstream()]);
  gateway = await startServer(`
providers:
  vendor: {type: openai, base_url: "${vendor.baseUrl}"}
  spare: {type: openai, base_url: "${spare.baseUrl}"}
model_config: {chat: vendor, chat-spare: spare}
fallbacks: {chat: [chat-spare]}
proxy: {max_retries: 2}
`);
});
afterAll(async () => {
  await gateway?.close();
  await Promise.all([vendor?.close(), spare?.close()]);
});
beforeEach(() => {
  vendor.clear();
  spare.clear();
});

/** Each fault after two chunks, with what each edge must report. */
const FAULTS: readonly { name: string; step: FaultStep; code: string; type: string; grpc: grpc.status }[] = [
  {
    name: "connection reset",
    step: { kind: "stream", afterPieces: 2, ending: "reset" },
    code: "upstream_unavailable",
    type: "server_error",
    grpc: grpc.status.UNAVAILABLE,
  },
  {
    name: "malformed SSE",
    step: { kind: "stream", afterPieces: 2, ending: "malformed" },
    code: "bad_upstream_response",
    type: "server_error",
    grpc: grpc.status.INTERNAL,
  },
  {
    name: "error event",
    step: { kind: "stream", afterPieces: 2, ending: "error-event" },
    code: "upstream_error",
    type: "server_error",
    grpc: grpc.status.UNAVAILABLE,
  },
];

/** Raw SSE bytes of one streaming request. */
async function rawSse(): Promise<{ status: number; body: string }> {
  const response = await request(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "chat", stream: true, messages: [{ role: "user", content: "Hello" }] }),
  });
  return { status: response.statusCode, body: await response.body.text() };
}

describe("SSE", () => {
  for (const fault of FAULTS) {
    it(`${fault.name} after two chunks: the text so far, then APIError(${fault.code}); no retry, no fallback`, async () => {
      vendor.script([fault.step]);
      const result = await sdkStream(openAIClient(gateway.url), "chat");
      expect(result.text).toBe("Hello from");
      expect(result.error).toBeInstanceOf(APIError);
      const error = result.error as APIError;
      expect(error.code).toBe(fault.code);
      expect(error.type).toBe(fault.type);
      expect(vendor.requests).toHaveLength(1);
      expect(spare.requests).toHaveLength(0);
    });
  }

  it("on the wire: status 200, the chunks, one OpenAI error envelope as the last event, no [DONE]", async () => {
    vendor.script([{ kind: "stream", afterPieces: 2, ending: "reset" }]);
    const { status, body } = await rawSse();
    expect(status).toBe(200);
    const events = body.split("\n\n").filter((event) => event !== "");
    const last = JSON.parse((events.at(-1) ?? "").replace(/^data: /, "")) as Record<string, unknown>;
    expect(last).toEqual({
      error: {
        message: "The connection to the upstream broke mid-response.",
        type: "server_error",
        param: null,
        code: "upstream_unavailable",
      },
    });
    expect(body).not.toContain("[DONE]");
    expect(body).toContain('"content":"Hello"');
  });
});

describe("gRPC", () => {
  for (const fault of FAULTS) {
    it(`${fault.name} after two chunks: the messages so far, then ${grpc.status[fault.grpc]}`, async () => {
      vendor.script([fault.step]);
      const client = grpcChatClient(gateway.port);
      try {
        const result = await grpcStream(client, "chat");
        expect(result.text).toBe("Hello from");
        expect(result.code).toBe(fault.grpc);
        expect(vendor.requests).toHaveLength(1);
        expect(spare.requests).toHaveLength(0);
      } finally {
        client.close();
      }
    });
  }
});
