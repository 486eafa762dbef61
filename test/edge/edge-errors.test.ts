/**
 * A new edge gets its own error shape and API label from its declaration alone: a test edge that answers in
 * Anthropic's error envelope, registered beside the real ones, sees the shared error handler, the auth hook's 401
 * and the body limit's 413 answer in its shape, and its requests counted and logged with `api="messages"`; the
 * OpenAI routes keep OpenAI's envelope on the same server.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { ProxyError, type ProxyErrorKind } from "../../src/core/errors.ts";
import { createRuntime, createRuntimeHolder, type RuntimeHolder } from "../../src/core/runtime.ts";
import { declareEdge, type RouteEdge } from "../../src/edge/route-edge.ts";
import { createDualServerFactory } from "../../src/net/server-factory.ts";
import { buildServer } from "../../src/server.ts";
import { createCapturedLogger } from "../helpers/captured-logger.ts";
import { parsePrometheusText, sampleValue } from "../telemetry/prometheus-text.ts";

const KEY = "sk-edge-test-0123456789abcdef";
const YAML = `
model_config: {echo-1: echo}
proxy: {default_model: echo-1, max_retries: 0}
server: {body_limit: 2048}
auth:
  keys:
    - {name: tester, key: ${KEY}}
`;

/** Anthropic's error types by kind, as much of them as this test needs. */
const ANTHROPIC_TYPES: Partial<Record<ProxyErrorKind, [number, string]>> = {
  authentication: [401, "authentication_error"],
  rate_limited: [429, "rate_limit_error"],
  request_too_large: [413, "request_too_large"],
};

const messagesEdge: RouteEdge = {
  api: "messages",
  modelCall: true,
  rpc: false,
  writeError(_request: FastifyRequest, reply: FastifyReply, error: ProxyError, status?: number) {
    const [mapped, type] = ANTHROPIC_TYPES[error.kind] ?? [500, "api_error"];
    return reply.status(status ?? mapped).send({ type: "error", error: { type, message: error.message } });
  },
};

/** The test edge: POST /test-edge/v1/messages refuses every body it gets with a rate limit. */
async function testEdgePlugin(app: FastifyInstance): Promise<void> {
  declareEdge(app, messagesEdge);
  app.post("/test-edge/v1/messages", async () => {
    throw new ProxyError("rate_limited", "Slow down, test edge.");
  });
}

let app: FastifyInstance;
let runtime: RuntimeHolder;
let url: string;
let logs: Record<string, unknown>[];

beforeAll(async () => {
  const captured = createCapturedLogger();
  logs = captured.logs;
  runtime = createRuntimeHolder(createRuntime(parseConfig(YAML, "edge.yaml")));
  app = await buildServer({
    runtime,
    logger: undefined,
    loggerInstance: captured.loggerInstance,
    serverOptions: { serverFactory: createDualServerFactory().serverFactory },
  });
  await app.register(testEdgePlugin);
  await app.listen({ host: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app.close();
  await runtime.current.close();
});

async function post(path: string, body: string, requestId: string, key: string | null = KEY) {
  const response = await request(`${url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-request-id": requestId,
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
    },
    body,
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: (await response.body.json()) as unknown,
  };
}

async function accessLine(requestId: string): Promise<Record<string, unknown>> {
  await expect
    .poll(() => logs.find((line) => line.msg === "request completed" && line.requestId === requestId))
    .toBeDefined();
  return logs.find((line) => line.msg === "request completed" && line.requestId === requestId) ?? {};
}

const SMALL = JSON.stringify({ model: "echo-1", max_tokens: 5, messages: [{ role: "user", content: "hi" }] });

describe("errors in the shape of the edge that received the request", () => {
  it("the shared error handler writes the edge's envelope", async () => {
    const answer = await post("/test-edge/v1/messages", SMALL, "rid-edge-429");
    expect(answer).toMatchObject({
      status: 429,
      body: { type: "error", error: { type: "rate_limit_error", message: "Slow down, test edge." } },
    });
  });

  it("the auth hook's refusal (no key) is the edge's 401, with the bearer challenge", async () => {
    const answer = await post("/test-edge/v1/messages", SMALL, "rid-edge-401", null);
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    expect(answer.headers["www-authenticate"]).toBe('Bearer realm="llm-proxy"');
  });

  it("the body limit's refusal is the edge's 413", async () => {
    const big = JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "x".repeat(4096) }] });
    const answer = await post("/test-edge/v1/messages", big, "rid-edge-413");
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ type: "error", error: { type: "request_too_large" } });
  });

  it("the OpenAI routes of the same server keep OpenAI's envelope", async () => {
    const answer = await post("/v1/chat/completions", SMALL, "rid-openai-401", null);
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ error: { type: "authentication_error", code: "invalid_api_key" } });
  });

  it("the edge's requests are labelled by its declared API on the access line and in /metrics", async () => {
    expect(await accessLine("rid-edge-429")).toMatchObject({
      api: "messages",
      protocol: "http",
      statusCode: 429,
      outcome: "rate_limited",
    });
    expect(await accessLine("rid-edge-401")).toMatchObject({ api: "messages", statusCode: 401 });
    expect(await accessLine("rid-edge-413")).toMatchObject({ api: "messages", outcome: "request_too_large" });
    expect(await accessLine("rid-openai-401")).toMatchObject({ api: "chat", statusCode: 401 });
    const metrics = await request(`${url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
    const samples = parsePrometheusText(await metrics.body.text());
    const messages = { api: "messages", protocol: "http" };
    expect(sampleValue(samples, "llm_proxy_requests_total", { ...messages, outcome: "rate_limited" })).toBe(
      1,
    );
    expect(
      sampleValue(samples, "llm_proxy_requests_total", { ...messages, outcome: "request_too_large" }),
    ).toBe(1);
    expect(sampleValue(samples, "llm_proxy_requests_total", { ...messages, outcome: "unauthorized" })).toBe(
      1,
    );
    expect(sampleValue(samples, "llm_proxy_requests_in_flight", messages)).toBe(0);
  });
});
