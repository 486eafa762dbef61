/**
 * The Messages edge gets the core's resilience with no work of its own: the Anthropic SDK aborting its stream
 * aborts the upstream request within 100 ms, a 5xx before the first byte is retried, and an upstream that keeps
 * failing is answered in Anthropic's shape with the upstream's status.
 */
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startChatGateway } from "../helpers/chat-gateway.ts";
import {
  type FaultRequest,
  type FaultUpstream,
  startFaultUpstream,
  waitFor,
} from "../helpers/fault-upstream.ts";
import type { RunningServer } from "../helpers/start-server.ts";

const ABORT_WITHIN_MS = 100;
/** Client, gateway and vendor share a loaded machine: one pause can pass 100 ms by itself. */
const LATENCY = { retry: 2 };

let vendor: FaultUpstream;
let gateway: RunningServer;

beforeAll(async () => {
  vendor = await startFaultUpstream();
  gateway = await startChatGateway(vendor, "proxy: {max_retries: 1}");
});
afterAll(async () => {
  await gateway?.close();
  await vendor?.close();
});
beforeEach(() => vendor.clear());

const client = (): Anthropic => new Anthropic({ baseURL: gateway.url, apiKey: "unused", maxRetries: 0 });
const ask = { model: "chat", max_tokens: 64, messages: [{ role: "user" as const, content: "Hello" }] };

describe("the Messages edge on the core's resilience", () => {
  it("aborting the SDK's stream aborts the upstream within 100 ms", LATENCY, async () => {
    vendor.script([
      { kind: "stream", pieces: Array.from({ length: 40 }, (_, index) => `t${index} `), chunkDelayMs: 50 },
    ]);
    const stream = client().messages.stream(ask);
    let pieces = 0;
    let leftAt = 0;
    stream.on("text", () => {
      pieces += 1;
      if (pieces === 3) {
        leftAt = performance.now();
        stream.abort();
      }
    });
    await expect(stream.finalMessage()).rejects.toThrow();
    await waitFor(() => vendor.requests[0]?.abortedAt !== undefined, 2_000);
    const request = vendor.requests[0] as FaultRequest;
    expect((request.abortedAt ?? Number.NaN) - leftAt).toBeLessThan(ABORT_WITHIN_MS);
    expect(request.chunksSent).toBeLessThan(10);
  });

  it("retries a 5xx before the first byte", async () => {
    vendor.script([{ kind: "error", status: 503 }, { kind: "stream" }]);
    const message = await client().messages.create(ask);
    expect(message.content).toEqual([{ type: "text", text: "Hello from the mock" }]);
    expect(vendor.requests).toHaveLength(2);
  });

  it("answers an upstream that keeps failing in Anthropic's shape, with its status", async () => {
    vendor.script([
      { kind: "error", status: 500 },
      { kind: "error", status: 500 },
    ]);
    const error = await client()
      .messages.create(ask)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "api_error" },
    });
  });
});
