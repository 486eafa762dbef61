/**
 * Access lines, metrics and the overhead header, in-process with tracing off: every request gets exactly one
 * access line with its request id, including a stream the client cut and requests that failed before or inside
 * the core; /metrics counts chat requests by outcome, retries and fallbacks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessLineOf } from "../helpers/access-line.ts";
import { startMockOpenAIUpstream } from "../helpers/mock-openai-upstream.ts";
import type { MockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";
import { parsePrometheusText, type Sample, sampleValue } from "./prometheus-text.ts";

let upstream: MockUpstream;
let server: RunningServer;

beforeAll(async () => {
  upstream = await startMockOpenAIUpstream();
  server = await startServer(
    [
      "model_config: {m-bad: mock, m1: mock, slow: slow-echo}",
      "model_routes: {mock: {m-bad: status-429}}",
      "providers:",
      `  mock: {type: openai, base_url: "${upstream.baseUrl}", api_key: "sk-test-not-a-real-key"}`,
      "  slow-echo: {type: echo, token_delay_ms: 100}",
      "fallbacks: {m-bad: [m1]}",
      "proxy: {max_retries: 1}",
    ].join("\n"),
  );
});
afterAll(async () => {
  await server?.close();
  await upstream?.close();
});

function post(path: string, body: string, requestId: string, contentType = "application/json") {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": contentType, "x-request-id": requestId },
    body,
  });
}

function chatBody(model: string, stream: boolean, content = "count the tokens"): string {
  return JSON.stringify({ model, messages: [{ role: "user", content }], stream });
}

/** The one access line of a request, once written (the response's close event may come just after the body). */
function accessLine(requestId: string): Promise<Record<string, unknown>> {
  return accessLineOf(server.logs, requestId);
}

async function scrape(): Promise<Sample[]> {
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(200);
  return parsePrometheusText(await response.text());
}

describe("access log, metrics and overhead header", () => {
  it("a non-streaming chat: overhead header, access line without time to first token", async () => {
    const response = await post("/v1/chat/completions", chatBody("m1", false), "rid-json");
    expect(response.status).toBe(200);
    await response.json();
    const overhead = Number(response.headers.get("x-llm-proxy-overhead-ms"));
    expect(overhead).toBeGreaterThanOrEqual(0);
    const line = await accessLine("rid-json");
    expect(line).toMatchObject({
      api: "chat",
      protocol: "http",
      method: "POST",
      url: "/v1/chat/completions",
      statusCode: 200,
      outcome: "ok",
      model: "m1",
      provider: "mock",
      upstreamModel: "m1",
      stream: false,
      attempts: 1,
      finishReasons: ["stop"],
      overheadMs: Math.round(overhead * 100) / 100,
    });
    expect(line.ttftMs).toBeUndefined();
    expect(line.traceId).toBeUndefined();
    expect(line.latencyMs).toBeTypeOf("number");
  });

  it("retries and fallbacks are counted per model and per attempt outcome", async () => {
    const response = await post("/v1/chat/completions", chatBody("m-bad", true), "rid-fallback");
    expect(response.status).toBe(200);
    await response.text();
    expect(await accessLine("rid-fallback")).toMatchObject({
      model: "m-bad",
      upstreamModel: "m1",
      attempts: 3,
      retries: 1,
      fallbacks: 1,
      outcome: "ok",
    });
    const samples = await scrape();
    expect(sampleValue(samples, "llm_proxy_retries_total", { model: "m-bad" })).toBe(1);
    expect(sampleValue(samples, "llm_proxy_fallbacks_total", { model: "m-bad" })).toBe(1);
    expect(sampleValue(samples, "llm_proxy_upstream_attempts_total", { outcome: "rate_limited" })).toBe(2);
    expect(
      sampleValue(samples, "llm_proxy_requests_total", {
        api: "chat",
        protocol: "http",
        model: "m-bad",
        outcome: "ok",
      }),
    ).toBe(1);
  });

  it("failures before and in the core: unknown model, bad JSON, an RPC error; each one line and one count", async () => {
    expect((await post("/v1/chat/completions", chatBody("nope", false), "rid-nope")).status).toBe(404);
    expect((await post("/v1/chat/completions", "{not json", "rid-badjson")).status).toBe(400);
    const rpc = await post(
      "/llmproxy.v1.ChatService/CreateChatCompletion",
      chatBody("nope", false),
      "rid-rpc",
    );
    expect(rpc.status).toBe(404);
    expect(await accessLine("rid-nope")).toMatchObject({ statusCode: 404, outcome: "model_not_found" });
    expect(await accessLine("rid-badjson")).toMatchObject({ statusCode: 400, outcome: "invalid_request" });
    expect(await accessLine("rid-rpc")).toMatchObject({
      api: "chat",
      protocol: "connect",
      grpcStatus: 5,
      outcome: "model_not_found",
    });
    const samples = await scrape();
    const unknown = { model: "unknown", provider: "none" };
    expect(sampleValue(samples, "llm_proxy_requests_total", { ...unknown, outcome: "model_not_found" })).toBe(
      2,
    );
    expect(sampleValue(samples, "llm_proxy_requests_total", { ...unknown, outcome: "invalid_request" })).toBe(
      1,
    );
  });

  it("a stream the client cuts is logged and counted as cancelled, and leaves the in-flight gauge", async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "rid-cut" },
      body: chatBody("slow", true, "one two three four five six seven eight"),
      signal: controller.signal,
    });
    const reader = response.body?.getReader();
    await reader?.read();
    expect(
      sampleValue(await scrape(), "llm_proxy_requests_in_flight", { api: "chat", protocol: "http" }),
    ).toBe(1);
    controller.abort();
    expect(await accessLine("rid-cut")).toMatchObject({ outcome: "cancelled", stream: true, model: "slow" });
    const samples = await scrape();
    expect(sampleValue(samples, "llm_proxy_requests_in_flight", { api: "chat", protocol: "http" })).toBe(0);
    expect(sampleValue(samples, "llm_proxy_requests_total", { model: "slow", outcome: "cancelled" })).toBe(1);
    expect(sampleValue(samples, "llm_proxy_time_to_first_token_seconds_count", { model: "slow" })).toBe(1);
  });

  it("model labels stay bounded: provider/<anything> counts as `other`, a name that did not resolve as `unknown`", async () => {
    const names = Array.from({ length: 60 }, (_, index) => `mock/made-up-${index}`);
    for (const name of names) {
      const response = await post("/v1/chat/completions", chatBody(name, false), `rid-${name}`);
      expect(response.status).toBe(200);
      await response.json();
      const unresolved = await post("/v1/chat/completions", chatBody(`nope-${name}`, false), "rid-nope");
      expect(unresolved.status).toBe(404);
    }
    expect(await accessLine("rid-mock/made-up-7")).toMatchObject({ model: "mock/made-up-7" });
    const samples = await scrape();
    const modelLabels = new Set(samples.flatMap((sample) => sample.labels.model ?? []));
    expect([...modelLabels].filter((model) => model.includes("made-up"))).toEqual([]);
    const other = { api: "chat", protocol: "http", model: "other", provider: "mock", outcome: "ok" };
    expect(sampleValue(samples, "llm_proxy_requests_total", other)).toBe(60);
    expect(sampleValue(samples, "llm_proxy_input_tokens_total", { model: "other" })).toBeGreaterThan(0);
    const unknown = { model: "unknown", provider: "none", outcome: "model_not_found" };
    expect(sampleValue(samples, "llm_proxy_requests_total", unknown)).toBeGreaterThanOrEqual(60);
    // 60 more invented names add no line to /metrics.
    const lineCount = (scraped: readonly Sample[]) =>
      scraped.filter((sample) => sample.name.startsWith("llm_proxy_")).length;
    for (const name of names) {
      const response = await post("/v1/chat/completions", chatBody(`${name}-again`, false), "rid-again");
      await response.json();
    }
    expect(lineCount(await scrape())).toBe(lineCount(samples));
  });

  it("other routes get an access line but are not chat requests", async () => {
    const response = await fetch(`${server.url}/health`, { headers: { "x-request-id": "rid-health" } });
    expect(response.status).toBe(200);
    const line = await accessLine("rid-health");
    expect(line).toMatchObject({ protocol: "http", url: "/health", statusCode: 200, outcome: "ok" });
    expect(line.api).toBeUndefined();
    expect(line.attempts).toBeUndefined();
    const counted = (await scrape()).filter((sample) => sample.name === "llm_proxy_requests_total");
    expect(counted.length).toBeGreaterThan(0);
    expect(counted.filter((sample) => sample.labels.api !== "chat")).toEqual([]);
  });
});
