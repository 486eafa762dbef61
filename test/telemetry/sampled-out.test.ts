/**
 * The sampling decision is taken once per request, at its edge span (src/telemetry/edge-trace-context.ts), and the
 * rest of the request follows it. With `sample_ratio: 0` (a parent-based ratio sampler, the SDK's own), over the
 * three edges (HTTP/1.1 with the openai SDK, plain gRPC on the fast lane with grpc-js, the Connect protocol over h2c
 * with Connect's client):
 * - a request without `traceparent` asks the sampler once, exports nothing and sends no `traceparent` upstream;
 * - a caller's trace with sampled=0 exports nothing and reaches the vendor as the same trace id, still sampled=0;
 * - a caller's trace with sampled=1 is traced in full: edge span → "chat m1" → attempt, whose context the vendor gets.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { propagation, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  InMemorySpanExporter,
  ParentBasedSampler,
  type Sampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import { createEdgeTracing } from "../../src/telemetry/start-tracing.ts";
import { grpcChatClient } from "../helpers/grpc-js-client.ts";
import { startMockOpenAIUpstream } from "../helpers/mock-openai-upstream.ts";
import type { MockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const CALLER_SPAN = "b7ad6b7169203331";
const exporter = new InMemorySpanExporter();
/** What `sample_ratio: 0` configures (src/telemetry/start-tracing.ts), counting how often it is asked. */
const ratioZero = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0) });
let samplerCalls = 0;
const countingSampler: Sampler = {
  shouldSample(...args) {
    samplerCalls += 1;
    return ratioZero.shouldSample(...args);
  },
  toString: () => `counting(${ratioZero.toString()})`,
};

let upstream: MockUpstream;
let server: RunningServer;

beforeAll(async () => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(
    new TracerProvider({ sampler: countingSampler, spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
  );
  upstream = await startMockOpenAIUpstream();
  server = await startServer(
    [
      "model_config: {m1: mock}",
      `providers: {mock: {type: openai, base_url: "${upstream.baseUrl}", api_key: "sk-test-not-a-real-key"}}`,
    ].join("\n"),
    {},
    { tracing: createEdgeTracing() },
  );
});
afterAll(async () => {
  await server?.close();
  await upstream?.close();
});
beforeEach(() => {
  exporter.reset();
  samplerCalls = 0;
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
  it("a request without traceparent: one sampling decision, no span, no traceparent upstream", async () => {
    const requestId = `rid-root-${edge}`;
    await chatOn(edge, { "x-request-id": requestId });
    expect(samplerCalls).toBe(1);
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
