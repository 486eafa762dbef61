/**
 * The sampling decision is taken once per request, at its edge (src/telemetry/edge-trace-context.ts), and the
 * rest of the request follows it. With `sample_ratio: 0` (the edge's root sampling and the SDK sampler that
 * src/telemetry/start-tracing.ts configures for it), over the three edges (HTTP/1.1 with the openai SDK, plain gRPC
 * on the fast lane with grpc-js, the Connect protocol over h2c with Connect's client):
 * - a request without `traceparent` is dropped at the edge: the SDK starts no span and its sampler is not asked,
 *   nothing is exported and no `traceparent` goes upstream;
 * - a caller's trace with sampled=0 exports nothing and reaches the vendor as the same trace id, still sampled=0;
 * - a caller's trace with sampled=1 is traced in full: edge span → "chat m1" → attempt, whose context the vendor gets.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  InMemorySpanExporter,
  type Sampler,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import { createEdgeTracing, rootRatioOf, toSampler } from "../../src/telemetry/start-tracing.ts";
import type { SamplerSettings } from "../../src/telemetry/tracing-settings.ts";
import { grpcChatClient } from "../helpers/grpc-js-client.ts";
import { startMockOpenAIUpstream } from "../helpers/mock-openai-upstream.ts";
import type { MockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const CALLER_SPAN = "b7ad6b7169203331";
const exporter = new InMemorySpanExporter();
/** What `telemetry.sample_ratio` configures (src/telemetry/tracing-settings.ts). */
const sampleRatio = (ratio: number): SamplerSettings => ({ root: "traceidratio", parentBased: true, ratio });
/** The SDK's sampler for `sample_ratio: 0` (src/telemetry/start-tracing.ts), counting how often it is asked. */
const ratioZero = toSampler(sampleRatio(0));
let samplerCalls = 0;
const countingSampler: Sampler = {
  shouldSample(...args) {
    samplerCalls += 1;
    return ratioZero.shouldSample(...args);
  },
  toString: () => `counting(${ratioZero.toString()})`,
};

const provider = new TracerProvider({
  sampler: countingSampler,
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
});
/** The SDK tracer the gateway's spans come from (the provider hands out one per name). */
const startSpan = vi.spyOn(provider.getTracer("llm-proxy"), "startSpan");

let upstream: MockUpstream;
let server: RunningServer;

/** A gateway whose edges trace `ratio` of the root requests, as `sample_ratio: ratio` starts it. */
function startTracedServer(ratio: number): Promise<RunningServer> {
  return startServer(
    [
      "model_config: {m1: mock}",
      `providers: {mock: {type: openai, base_url: "${upstream.baseUrl}", api_key: "sk-test-not-a-real-key"}}`,
    ].join("\n"),
    {},
    { tracing: createEdgeTracing(rootRatioOf(sampleRatio(ratio))) },
  );
}

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  upstream = await startMockOpenAIUpstream();
  server = await startTracedServer(0);
});
afterAll(async () => {
  await server?.close();
  await upstream?.close();
});
beforeEach(() => {
  exporter.reset();
  samplerCalls = 0;
  startSpan.mockClear();
});

type Edge = "http" | "grpc" | "connect";

/** One chat on `edge` with these headers (request id and, maybe, traceparent); resolves once it is answered. */
async function chatOn(edge: Edge, headers: Record<string, string>): Promise<void> {
  const messages = [{ role: "user" as const, content: "hi" }];
  if (edge === "http") {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: "m1", messages }, { headers });
    expect(answer.choices[0]?.message.content).toBe("hi");
    return;
  }
  if (edge === "connect") {
    const transport = createConnectTransport({ baseUrl: server.url, httpVersion: "2" });
    const answer = await createClient(ChatService, transport).createChatCompletion(
      { model: "m1", messages },
      { headers },
    );
    expect(answer.choices[0]?.message?.content).toBe("hi");
    return;
  }
  const client = grpcChatClient(server.port);
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  try {
    const content = await new Promise<string | undefined>((resolve, reject) =>
      client.CreateChatCompletion({ model: "m1", messages }, metadata, {}, (error, response) =>
        error === null ? resolve(response?.choices?.[0]?.message?.content) : reject(error),
      ),
    );
    expect(content).toBe("hi");
  } finally {
    client.close();
  }
}

/** The `traceparent` the vendor received with the request `requestId` (undefined: none). */
function upstreamTraceparent(requestId: string): string | undefined {
  const seen = upstream.requests.filter((request) => request.headers["x-request-id"] === requestId);
  expect(seen).toHaveLength(1);
  return seen[0]?.headers.traceparent as string | undefined;
}

/** A random W3C trace id, so that each case's trace is its own. */
const newTraceId = () =>
  Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join("");

describe.each<Edge>(["http", "grpc", "connect"])("sample_ratio 0 on the %s edge", (edge) => {
  it("a request without traceparent: dropped at the edge, no SDK span, no traceparent upstream", async () => {
    const requestId = `rid-root-${edge}`;
    await chatOn(edge, { "x-request-id": requestId });
    expect(startSpan).not.toHaveBeenCalled();
    expect(samplerCalls).toBe(0);
    expect(upstreamTraceparent(requestId)).toBeUndefined();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("a caller's trace with sampled=0: no span; the vendor gets the caller's trace id, still sampled=0", async () => {
    const requestId = `rid-unsampled-${edge}`;
    const traceId = newTraceId();
    await chatOn(edge, { "x-request-id": requestId, traceparent: `00-${traceId}-${CALLER_SPAN}-00` });
    expect(upstreamTraceparent(requestId)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("a caller's trace with sampled=1: the full trace, and the attempt span's context upstream", async () => {
    const requestId = `rid-sampled-${edge}`;
    const traceId = newTraceId();
    await chatOn(edge, { "x-request-id": requestId, traceparent: `00-${traceId}-${CALLER_SPAN}-01` });
    // The edge span ends when the response closes, which may come just after the client has its answer.
    await expect.poll(() => exporter.getFinishedSpans().length).toBe(3);
    const spans = exporter.getFinishedSpans();
    const [edgeSpan, core, attempt] = ["", "chat m1", "attempt mock"].map((name) =>
      spans.find((span) =>
        name === "" ? span.parentSpanContext?.spanId === CALLER_SPAN : span.name === name,
      ),
    );
    expect(spans.every((span) => span.spanContext().traceId === traceId)).toBe(true);
    expect(core?.parentSpanContext?.spanId).toBe(edgeSpan?.spanContext().spanId);
    expect(attempt?.parentSpanContext?.spanId).toBe(core?.spanContext().spanId);
    expect(upstreamTraceparent(requestId)).toBe(`00-${traceId}-${attempt?.spanContext().spanId}-01`);
  });
});

describe("sample_ratio 0.1 on the http edge", () => {
  it("keeps about a tenth of 2,000 root requests, each traced in full and none re-rolled by the SDK", async () => {
    const tenth = await startTracedServer(0.1);
    try {
      const client = new OpenAI({ baseURL: `${tenth.url}/v1`, apiKey: "unused", maxRetries: 0 });
      const messages = [{ role: "user" as const, content: "hi" }];
      for (let batch = 0; batch < 20; batch += 1) {
        await Promise.all(
          Array.from({ length: 100 }, () => client.chat.completions.create({ model: "m1", messages })),
        );
      }
      const kept = () => exporter.getFinishedSpans().filter((span) => span.parentSpanContext === undefined);
      // Binomial(2000, 0.1): 200 ± 13; an SDK that rolled again would keep about 20.
      await expect.poll(() => exporter.getFinishedSpans().length).toBe(kept().length * 3);
      expect(kept().length).toBeGreaterThanOrEqual(100);
      expect(kept().length).toBeLessThanOrEqual(300);
      expect(samplerCalls).toBe(kept().length * 3);
    } finally {
      await tenth.close();
    }
  });
});
