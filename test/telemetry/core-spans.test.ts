/**
 * The core's spans in-process, with the SDK's in-memory exporter: a retry then a fallback each get an attempt span
 * saying why the next one happened, the request span sums it up, and failures (upstream 400, unknown model) end the
 * request span with the error kind. The edges' spans come from the gateway's own hooks (the HTTP server span is the
 * core span's parent), as with the SDK started by the config.
 */
import { trace } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createEdgeTracing } from "../../src/telemetry/start-tracing.ts";
import { startMockOpenAIUpstream } from "../helpers/mock-openai-upstream.ts";
import type { MockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const exporter = new InMemorySpanExporter();
let upstream: MockUpstream;
let server: RunningServer;

beforeAll(async () => {
  trace.setGlobalTracerProvider(
    new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
  );
  upstream = await startMockOpenAIUpstream();
  server = await startServer(
    [
      "model_config: {m-bad: mock, m1: mock, m-invalid: mock, m-embed: echo}",
      "model_routes: {mock: {m-bad: status-429, m-invalid: status-400}}",
      `providers: {mock: {type: openai, base_url: "${upstream.baseUrl}", api_key: "sk-test-not-a-real-key"}}`,
      "fallbacks: {m-bad: [m1]}",
      "proxy: {max_retries: 1}",
    ].join("\n"),
    {},
    { tracing: createEdgeTracing() },
  );
});
afterAll(async () => {
  await server?.close();
  await upstream?.close();
});
beforeEach(() => exporter.reset());

async function chat(model: string, requestId: string): Promise<Response> {
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], stream: true }),
  });
  await response.text();
  return response;
}

function spansNamed(prefix: string): ReadableSpan[] {
  return exporter
    .getFinishedSpans()
    .filter((span) => span.name.startsWith(prefix))
    .sort(
      (a, b) =>
        Number(a.attributes["llm_proxy.attempt.number"]) - Number(b.attributes["llm_proxy.attempt.number"]),
    );
}

describe("core spans", () => {
  it("a retry and a fallback: each failed attempt says what came next; the request span sums up", async () => {
    expect((await chat("m-bad", "rid-retry")).status).toBe(200);
    const [request] = spansNamed("chat ");
    expect(request?.name).toBe("chat m-bad");
    expect(request?.attributes).toMatchObject({
      "request.id": "rid-retry",
      "gen_ai.request.model": "m-bad",
      "gen_ai.response.model": "m1",
      "gen_ai.provider.name": "mock",
      "llm_proxy.attempts": 3,
      "llm_proxy.retries": 1,
      "llm_proxy.fallbacks": 1,
    });
    expect(request?.status.code).toBe(0);
    const attempts = spansNamed("attempt ");
    expect(attempts.map((span) => span.attributes)).toMatchObject([
      {
        "llm_proxy.attempt.number": 1,
        "llm_proxy.attempt.status": "rate_limited",
        "error.type": "rate_limited",
        "http.response.status_code": 429,
        "llm_proxy.attempt.next": "retry",
        "gen_ai.request.model": "status-429",
      },
      { "llm_proxy.attempt.number": 2, "llm_proxy.attempt.next": "fallback" },
      {
        "llm_proxy.attempt.number": 3,
        "llm_proxy.attempt.status": "ok",
        "llm_proxy.fallback.from": "m-bad",
        "llm_proxy.model": "m1",
      },
    ]);
    for (const attempt of attempts) {
      expect(attempt.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
      expect(attempt.attributes["request.id"]).toBe("rid-retry");
    }
    expect(attempts[0]?.status.code).toBe(2);
    // A failed attempt's span ends when it failed, not when the next step began.
    expect(hrMs(attempts[0]?.endTime)).toBeLessThanOrEqual(hrMs(attempts[1]?.startTime));
  });

  it("an upstream 400 ends the request span with the error kind; the attempt says nothing came next", async () => {
    expect((await chat("m-invalid", "rid-invalid")).status).toBe(400);
    const [request] = spansNamed("chat ");
    expect(request?.attributes).toMatchObject({ "error.type": "invalid_request", "llm_proxy.attempts": 1 });
    expect(request?.status.code).toBe(2);
    expect(spansNamed("attempt ")[0]?.attributes).toMatchObject({
      "llm_proxy.attempt.next": "none",
      "http.response.status_code": 400,
    });
  });

  it("an embeddings request gets an `embeddings {model}` span with its operation, attempt and input tokens", async () => {
    const response = await fetch(`${server.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "rid-embed" },
      body: JSON.stringify({ model: "m-embed", input: ["one two", "three"] }),
    });
    expect(response.status).toBe(200);
    await response.text();
    const [request] = spansNamed("embeddings ");
    expect(request?.name).toBe("embeddings m-embed");
    expect(request?.attributes).toMatchObject({
      "gen_ai.operation.name": "embeddings",
      "gen_ai.request.model": "m-embed",
      "request.id": "rid-embed",
      "gen_ai.usage.input_tokens": 3,
      "gen_ai.usage.output_tokens": 0,
      "llm_proxy.attempts": 1,
    });
    expect(request?.attributes["gen_ai.request.max_tokens"]).toBeUndefined();
    expect(spansNamed("attempt ")[0]?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
  });

  it("an unknown model gets a request span with model_not_found and no attempt", async () => {
    expect((await chat("nope", "rid-nope")).status).toBe(404);
    expect(spansNamed("chat ")[0]?.attributes).toMatchObject({
      "error.type": "model_not_found",
      "request.id": "rid-nope",
    });
    expect(spansNamed("attempt ")).toHaveLength(0);
  });
});

function hrMs(time: readonly [number, number] | undefined): number {
  return time === undefined ? Number.NaN : time[0] * 1000 + time[1] / 1e6;
}
