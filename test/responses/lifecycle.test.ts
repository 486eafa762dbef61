/**
 * What /v1/responses gets from the kit and the core, as chat does: a client that aborts its stream (the openai
 * SDK's `controller.abort()`) makes the gateway abort its upstream request; the vendor receives the request id;
 * a retry after a vendor 503 and a fallback are invisible to the client; inbound keys are enforced with OpenAI's
 * envelope.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultUpstream, startFaultUpstream } from "../helpers/fault-upstream.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const KEY = "sk-gateway-responses-key";
let vendor: FaultUpstream;
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  vendor = await startFaultUpstream();
  server = await startServer(`
providers:
  vendor: {type: openai, base_url: "${vendor.baseUrl}"}
  echo: {type: echo}
model_config: {chat: vendor, backed: vendor, echo-1: echo}
fallbacks: {backed: [echo-1]}
proxy: {max_retries: 1}
auth: {keys: [{name: tests, key: ${KEY}}]}
`);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
  await vendor?.close();
});

describe("/v1/responses lifecycle", () => {
  it("aborts the upstream when the client aborts its stream", async () => {
    vendor.clear();
    const pieces = Array.from({ length: 200 }, (_, index) => `t${index} `);
    vendor.script([{ kind: "stream", pieces, chunkDelayMs: 20 }]);
    const stream = client.responses.stream({ model: "chat", input: "Go on" });
    let deltas = 0;
    for await (const event of stream) {
      if (event.type === "response.output_text.delta" && ++deltas === 3) {
        stream.abort();
        break;
      }
    }
    expect(deltas).toBe(3);
    await vendor.waitFor(() => vendor.requests[0]?.abortedAt !== undefined);
    expect(vendor.requests[0]?.chunksSent).toBeLessThan(100);
  });

  it("passes the request id to the vendor and retries a 503 unseen", async () => {
    vendor.clear();
    vendor.script([{ kind: "error", status: 503 }, { kind: "stream" }]);
    const { data, response } = await client.responses
      .create({ model: "chat", input: "Hi" }, { headers: { "x-request-id": "resp-lifecycle-1" } })
      .withResponse();
    expect(response.headers.get("x-request-id")).toBe("resp-lifecycle-1");
    expect(data.output_text).toBe("Hello from the mock");
    expect(vendor.requests.map((request) => request.requestId)).toEqual([
      "resp-lifecycle-1",
      "resp-lifecycle-1",
    ]);
  });

  it("falls back to another provider when the vendor keeps failing", async () => {
    vendor.clear();
    vendor.script([
      { kind: "error", status: 500 },
      { kind: "error", status: 500 },
    ]);
    const response = await client.responses.create({ model: "backed", input: "Fallback please" });
    expect(response.status).toBe("completed");
    expect(response.output_text.length).toBeGreaterThan(0);
  });

  it("refuses a request without a valid key in OpenAI's envelope", async () => {
    const anonymous = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    const error = await anonymous.responses
      .create({ model: "chat", input: "Hi" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).type).toBe("authentication_error");
  });
});
