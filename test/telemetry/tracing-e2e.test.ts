/**
 * Tracing end to end through the real entry (`node src/main.ts`), exporting OTLP/HTTP JSON through the SDK's batch
 * span processor and the official exporter (@opentelemetry/exporter-trace-otlp-http) to an in-process receiver:
 * one streamed chat over the OpenAI facade (openai SDK) and one over gRPC (grpc-js), each sent with a W3C
 * `traceparent`, must each arrive as one trace under the caller's span: edge server span → core "chat" span →
 * attempt span (the upstream CLIENT span), with GenAI attributes and the request id on every span; the mock vendor
 * must see the same trace id in its `traceparent`; /metrics must count both; the access lines must match.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrpcChunk, grpcChatClient, requestIdMetadata } from "../helpers/grpc-js-client.ts";
import { startMockOpenAIUpstream } from "../helpers/mock-openai-upstream.ts";
import type { MockUpstream } from "../helpers/mock-server.ts";
import { type GatewayProcess, startGateway } from "./gateway-process.ts";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./otlp-receiver.ts";
import { parsePrometheusText, sampleValue } from "./prometheus-text.ts";

const CALLER_SPAN = "b7ad6b7169203331";
const HTTP_TRACE = "0af7651916cd43dd8448eb211c80319c";
const GRPC_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;

let receiver: OtlpReceiver;
let upstream: MockUpstream;
let gateway: GatewayProcess;

beforeAll(async () => {
  [receiver, upstream] = await Promise.all([startOtlpReceiver(), startMockOpenAIUpstream()]);
  gateway = await startGateway(
    [
      "model_config: {m1: mock}",
      `providers: {mock: {type: openai, base_url: "${upstream.baseUrl}", api_key: "sk-test-not-a-real-key"}}`,
      "server: {watch_config: false, log_level: info}",
      `telemetry: {endpoint: "${receiver.endpoint}", service_name: llm-proxy-test, headers: {x-tenant: t1}}`,
    ].join("\n"),
    { OTEL_BSP_SCHEDULE_DELAY: "50" },
  );
});
afterAll(async () => {
  gateway?.kill();
  await Promise.all([receiver?.close(), upstream?.close()]);
});

/** The spans of one trace once it has `count` spans, keyed for the tree assertions. */
async function traceOf(traceId: string, count: number): Promise<ReceivedSpan[]> {
  const ofTrace = (spans: readonly ReceivedSpan[]) => spans.filter((span) => span.traceId === traceId);
  await receiver.waitFor((spans) => ofTrace(spans).length >= count);
  return ofTrace(receiver.spans);
}

function one(spans: readonly ReceivedSpan[], predicate: (span: ReceivedSpan) => boolean): ReceivedSpan {
  const found = spans.filter(predicate);
  expect(found, JSON.stringify(spans.map((span) => span.name))).toHaveLength(1);
  return found[0] as ReceivedSpan;
}

/** Asserts core → attempt (the upstream client span) under `edge`, and what reached the vendor. */
function assertCoreTree(spans: readonly ReceivedSpan[], edge: ReceivedSpan, requestId: string): void {
  const core = one(spans, (span) => span.name === "chat m1");
  expect(core.parentSpanId).toBe(edge.spanId);
  expect(core.attributes).toMatchObject({
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "mock",
    "gen_ai.request.model": "m1",
    "gen_ai.response.model": "m1",
    "gen_ai.usage.input_tokens": 11,
    "gen_ai.usage.output_tokens": 7,
    "gen_ai.response.finish_reasons": ["stop"],
    "llm_proxy.stream": true,
    "llm_proxy.attempts": 1,
  });
  const attempt = one(spans, (span) => span.name === "attempt mock");
  expect(attempt.parentSpanId).toBe(core.spanId);
  expect(attempt.kind).toBe(SPAN_KIND.client);
  const vendor = new URL(upstream.baseUrl);
  expect(attempt.attributes).toMatchObject({
    "llm_proxy.attempt.number": 1,
    "llm_proxy.attempt.status": "ok",
    "gen_ai.provider.name": "mock",
    "http.request.method": "POST",
    "http.response.status_code": 200,
    "server.address": vendor.hostname,
    "server.port": Number(vendor.port),
    "url.full": `${vendor.origin}${vendor.pathname.replace(/\/$/, "")}/chat/completions`,
  });
  expect(spans.filter((span) => span.kind === SPAN_KIND.client)).toEqual([attempt]);
  for (const span of spans) expect(span.attributes["request.id"], span.name).toBe(requestId);
  for (const span of spans) expect(span.serviceName).toBe("llm-proxy-test");
  const seen = upstream.requests.find((request) => request.headers["x-request-id"] === requestId);
  expect(seen?.headers.traceparent).toBe(`00-${attempt.traceId}-${attempt.spanId}-01`);
}

describe("tracing through node src/main.ts", () => {
  it("a streamed OpenAI-SDK chat is one trace under the caller's span, down to the upstream", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const { data: stream, response } = await client.chat.completions
      .create(
        {
          model: "m1",
          messages: [{ role: "user", content: "hello traced world" }],
          stream: true,
          stream_options: { include_usage: true },
        },
        { headers: { traceparent: `00-${HTTP_TRACE}-${CALLER_SPAN}-01`, "x-request-id": "rid-otel-http" } },
      )
      .withResponse();
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("hello traced world");
    expect(Number(response.headers.get("x-llm-proxy-overhead-ms"))).toBeGreaterThanOrEqual(0);

    const spans = await traceOf(HTTP_TRACE, 3);
    expect(spans).toHaveLength(3);
    const server = one(spans, (span) => span.kind === SPAN_KIND.server);
    expect(server).toMatchObject({ name: "POST /v1/chat/completions", parentSpanId: CALLER_SPAN });
    expect(server.attributes["http.route"]).toBe("/v1/chat/completions");
    assertCoreTree(spans, server, "rid-otel-http");
  });

  it("a streamed grpc-js chat is one trace under the caller's span (the fast lane's span hook over h2c)", async () => {
    const client = grpcChatClient(gateway.port);
    const metadata = requestIdMetadata("rid-otel-grpc");
    metadata.set("traceparent", `00-${GRPC_TRACE}-${CALLER_SPAN}-01`);
    const call = client.StreamChatCompletion(
      {
        model: "m1",
        messages: [{ role: "user", content: "hello grpc trace" }],
        stream_options: { include_usage: true },
      },
      metadata,
    );
    const overhead = new Promise<unknown>((resolve) =>
      call.on("metadata", (headers) => resolve(headers.get("x-llm-proxy-overhead-ms")[0])),
    );
    let text = "";
    for await (const chunk of call as AsyncIterable<GrpcChunk>)
      text += chunk.choices?.[0]?.delta?.content ?? "";
    client.close();
    expect(text).toBe("hello grpc trace");
    expect(Number(await overhead)).toBeGreaterThanOrEqual(0);

    const spans = await traceOf(GRPC_TRACE, 3);
    expect(spans).toHaveLength(3);
    const server = one(spans, (span) => span.kind === SPAN_KIND.server);
    expect(server).toMatchObject({
      name: "llmproxy.v1.ChatService/StreamChatCompletion",
      parentSpanId: CALLER_SPAN,
    });
    expect(server.attributes).toMatchObject({ "rpc.system.name": "grpc", "rpc.response.status_code": "OK" });
    assertCoreTree(spans, server, "rid-otel-grpc");
  });

  it("/metrics counts both, the access lines carry the request and trace ids, and no span is orphaned", async () => {
    const response = await fetch(`${gateway.url}/metrics`);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const samples = parsePrometheusText(await response.text());
    for (const protocol of ["http", "grpc"]) {
      const labels = { api: "chat", protocol, model: "m1", provider: "mock" };
      expect(sampleValue(samples, "llm_proxy_requests_total", { ...labels, outcome: "ok" })).toBe(1);
      expect(sampleValue(samples, "llm_proxy_request_duration_seconds_count", labels)).toBe(1);
      expect(sampleValue(samples, "llm_proxy_time_to_first_token_seconds_count", labels)).toBe(1);
      expect(sampleValue(samples, "llm_proxy_requests_in_flight", { api: "chat", protocol })).toBe(0);
    }
    expect(sampleValue(samples, "llm_proxy_input_tokens_total", { model: "m1", provider: "mock" })).toBe(22);
    expect(sampleValue(samples, "llm_proxy_output_tokens_total", { model: "m1", provider: "mock" })).toBe(14);
    expect(
      sampleValue(samples, "llm_proxy_upstream_attempts_total", { provider: "mock", outcome: "ok" }),
    ).toBe(2);
    expect(sampleValue(samples, "process_cpu_user_seconds_total")).toBeGreaterThan(0);

    for (const [requestId, protocol, traceId] of [
      ["rid-otel-http", "http", HTTP_TRACE],
      ["rid-otel-grpc", "grpc", GRPC_TRACE],
    ] as const) {
      const lines = gateway.logs.filter((line) => line.requestId === requestId);
      // One line at info per request: the access line (Fastify's "incoming request" is at debug).
      expect(lines.map((line) => line.msg)).toEqual(["request completed"]);
      const access = lines.filter((line) => line.msg === "request completed");
      expect(access).toHaveLength(1);
      expect(access[0]).toMatchObject({
        api: "chat",
        protocol,
        statusCode: 200,
        outcome: "ok",
        model: "m1",
        provider: "mock",
        stream: true,
        inputTokens: 11,
        outputTokens: 7,
        attempts: 1,
        traceId,
      });
      for (const field of ["latencyMs", "ttftMs", "overheadMs"])
        expect(access[0]?.[field]).toBeTypeOf("number");
    }

    const { code, modules } = await gateway.stop();
    expect(code).toBe(0);
    expect(modules).toContain("@opentelemetry/sdk-trace");
    expect(modules).toContain("@opentelemetry/exporter-trace-otlp-http");
    // Every span belongs to one of the two traces: the scrape is not traced, nothing started a trace of its own.
    expect(new Set(receiver.spans.map((span) => span.traceId))).toEqual(new Set([HTTP_TRACE, GRPC_TRACE]));
    expect(receiver.exports[0]?.["content-type"]).toBe("application/json");
    // The config's export headers reach the collector with every export.
    for (const headers of receiver.exports) expect(headers["x-tenant"]).toBe("t1");
  });
});
