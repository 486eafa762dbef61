/**
 * Usage and cost through real clients: the cost header on whole answers of every edge (chat, Responses,
 * Messages, embeddings, gRPC unary), cost in the access line and in llm_proxy_cost_usd_total; a stream whose
 * client did not ask for usage still gets the vendor's (asked for upstream, kept from the client); a stream the
 * client abandons is billed from the gateway's estimate.
 */
import Anthropic from "@anthropic-ai/sdk";
import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessLineOf } from "../helpers/access-line.ts";
import { type GrpcChunk, grpcChatClient } from "../helpers/grpc-js-client.ts";
import { startMockOpenAIUpstream } from "../helpers/mock-openai-upstream.ts";
import type { MockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";
import { parsePrometheusText, sampleValue } from "../telemetry/prometheus-text.ts";

let vendor: MockUpstream;
let server: RunningServer;
let openai: OpenAI;

// Echo counts a token per word; the mock vendor reports 11 prompt and 7 completion tokens.
const ECHO_PRICE = { input: 1, output: 2 };
const VENDOR_PRICE = { input: 0.15, output: 0.6 };

beforeAll(async () => {
  vendor = await startMockOpenAIUpstream();
  server = await startServer(`
model_config: {priced: echo, slow: slow-echo, unpriced: echo, vendor-model: vendor}
model_routes: {vendor: {vendor-model: upstream-model}}
providers:
  echo: {type: echo}
  slow-echo: {type: echo, token_delay_ms: 50}
  vendor: {type: openai, base_url: "${vendor.baseUrl}", api_key: "sk-vendor-test-0000"}
prices:
  priced: {input: ${ECHO_PRICE.input}, output: ${ECHO_PRICE.output}}
  slow: {input: ${ECHO_PRICE.input}, output: ${ECHO_PRICE.output}}
  vendor-model: {input: ${VENDOR_PRICE.input}, output: ${VENDOR_PRICE.output}}
`);
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
  await vendor?.close();
});

/** The one access line of a request, once written. */
function accessLine(requestId: string | null): Promise<Record<string, unknown>> {
  return accessLineOf(server.logs, requestId);
}

function echoCost(prompt: number, completion: number): number {
  return (prompt * ECHO_PRICE.input + completion * ECHO_PRICE.output) / 1e6;
}

describe("cost of whole answers", () => {
  it("chat completions: the header, the access line and the metric agree", async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: "priced", messages: [{ role: "user", content: "one two three" }] })
      .withResponse();
    expect(data.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 3 });
    expect(response.headers.get("x-llm-proxy-cost-usd")).toBe("0.000009");
    const line = await accessLine(response.headers.get("x-request-id"));
    expect(line).toMatchObject({ inputTokens: 3, outputTokens: 3, costUsd: echoCost(3, 3) });
    expect(line.usageEstimated).toBeUndefined();
  });

  it("a model without a price: no header, cost null in the access line", async () => {
    const { response } = await openai.chat.completions
      .create({ model: "unpriced", messages: [{ role: "user", content: "one two three" }] })
      .withResponse();
    expect(response.headers.get("x-llm-proxy-cost-usd")).toBeNull();
    expect(await accessLine(response.headers.get("x-request-id"))).toMatchObject({
      inputTokens: 3,
      costUsd: null,
    });
  });

  it("Responses, Messages and embeddings answers carry it too", async () => {
    const responses = await openai.responses
      .create({ model: "priced", input: "one two three four" })
      .withResponse();
    expect(responses.response.headers.get("x-llm-proxy-cost-usd")).toBe(String(echoCost(4, 4)));

    const anthropic = new Anthropic({ baseURL: server.url, apiKey: "unused", maxRetries: 0 });
    const messages = await anthropic.messages
      .create({ model: "priced", max_tokens: 100, messages: [{ role: "user", content: "one two" }] })
      .withResponse();
    expect(messages.response.headers.get("x-llm-proxy-cost-usd")).toBe(String(echoCost(2, 2)));

    const embeddings = await openai.embeddings
      .create({ model: "priced", input: ["a b", "c"] })
      .withResponse();
    expect(embeddings.data.usage.prompt_tokens).toBe(3);
    expect(embeddings.response.headers.get("x-llm-proxy-cost-usd")).toBe(String(echoCost(3, 0)));
  });

  it("a gRPC unary answer carries it as response metadata", async () => {
    const client = grpcChatClient(server.port);
    try {
      const header = await new Promise<unknown>((resolve, reject) => {
        const call = client.CreateChatCompletion(
          { model: "priced", messages: [{ role: "user", content: "one two three" }] },
          (error) => {
            if (error !== null) reject(error);
          },
        );
        call.on("metadata", (metadata) => resolve(metadata.get("x-llm-proxy-cost-usd")[0]));
      });
      expect(header).toBe("0.000009");
    } finally {
      client.close();
    }
  });
});

describe("streams", () => {
  it("a stream whose client did not ask for usage is billed from the vendor's usage, which the client never sees", async () => {
    vendor.requests.length = 0;
    const { data: stream, response } = await openai.chat.completions
      .create({ model: "vendor-model", stream: true, messages: [{ role: "user", content: "hello there" }] })
      .withResponse();
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.filter((chunk) => chunk.usage !== undefined && chunk.usage !== null)).toEqual([]);
    expect(vendor.requests[0]?.body.stream_options).toEqual({ include_usage: true });
    const cost = (11 * VENDOR_PRICE.input + 7 * VENDOR_PRICE.output) / 1e6;
    expect(await accessLine(response.headers.get("x-request-id"))).toMatchObject({
      inputTokens: 11,
      outputTokens: 7,
      costUsd: cost,
    });
  });

  it("a gRPC stream that did not ask for usage gets no usage message, and is billed from the vendor's", async () => {
    const client = grpcChatClient(server.port);
    try {
      const metadata = new grpc.Metadata();
      metadata.set("x-request-id", "rid-grpc-usage");
      const call = client.StreamChatCompletion(
        { model: "vendor-model", messages: [{ role: "user", content: "hello there" }] },
        metadata,
      );
      const chunks: GrpcChunk[] = [];
      for await (const chunk of call as AsyncIterable<GrpcChunk>) chunks.push(chunk);
      expect(chunks.length).toBeGreaterThan(1);
      expect(chunks.filter((chunk) => chunk.usage !== undefined)).toEqual([]);
    } finally {
      client.close();
    }
    expect(await accessLine("rid-grpc-usage")).toMatchObject({
      protocol: "grpc",
      inputTokens: 11,
      outputTokens: 7,
      costUsd: (11 * VENDOR_PRICE.input + 7 * VENDOR_PRICE.output) / 1e6,
    });
  });

  it("a stream abandoned through the SDK is billed for what it used, marked estimated", async () => {
    const words = Array.from({ length: 40 }, (_, index) => `word${index}`).join(" ");
    const { data: stream, response } = await openai.chat.completions
      .create({ model: "slow", stream: true, messages: [{ role: "user", content: words }] })
      .withResponse();
    let received = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) received += 1;
      if (received === 3) {
        stream.controller.abort();
        break;
      }
    }
    const line = await accessLine(response.headers.get("x-request-id"));
    expect(line).toMatchObject({ outcome: "cancelled", usageEstimated: true });
    // 40 words of ~6 characters, a quarter token each, plus the message's framing; 3 or 4 words streamed.
    expect(line.inputTokens).toBeGreaterThan(40);
    expect(line.outputTokens).toBeGreaterThan(0);
    expect(line.outputTokens).toBeLessThan(10);
    expect(line.costUsd).toBe(echoCost(line.inputTokens as number, line.outputTokens as number));
  });
});

describe("metrics", () => {
  it("llm_proxy_cost_usd_total sums the cost by model", async () => {
    const before = (await costMetric("priced")) ?? 0;
    await openai.chat.completions.create({
      model: "priced",
      messages: [{ role: "user", content: "a b c d e" }],
    });
    await openai.chat.completions.create({
      model: "unpriced",
      messages: [{ role: "user", content: "a b c d e" }],
    });
    await expect.poll(() => costMetric("priced")).toBeCloseTo(before + echoCost(5, 5), 12);
    expect(await costMetric("unpriced")).toBeUndefined();
  });
});

async function costMetric(model: string): Promise<number | undefined> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return sampleValue(parsePrometheusText(text), "llm_proxy_cost_usd_total", { model });
}
