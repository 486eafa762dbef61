import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestApp, ECHO_CONFIG } from "../helpers/build-app.ts";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp(ECHO_CONFIG);
});
afterAll(async () => {
  await app.close();
});

const user = (content: string) => [{ role: "user", content }];

function sseEvents(body: string): string[] {
  return body
    .split("\n\n")
    .filter((event) => event.startsWith("data: "))
    .map((event) => event.slice("data: ".length));
}

describe("OpenAI facade (inject)", () => {
  it("answers a non-streaming completion in OpenAI's shape", async () => {
    const response = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { model: "echo-1", messages: user("hello world") },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "echo-1",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "hello world", refusal: null },
          finish_reason: "stop",
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 },
    });
    expect(body.id).toMatch(/^chatcmpl-/);
  });

  it("streams SSE ending in [DONE], with usage only when include_usage is set", async () => {
    const plain = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { model: "echo-1", messages: user("a b"), stream: true },
    });
    expect(plain.headers["content-type"]).toMatch(/^text\/event-stream/);
    const events = sseEvents(plain.body);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
    // The role rides on the choice's first piece (no separate empty opening chunk).
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "a " });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("a b");
    expect(chunks.at(-1).choices[0].finish_reason).toBe("stop");
    expect(chunks.some((chunk) => "usage" in chunk)).toBe(false);

    const withUsage = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: {
        model: "echo-1",
        messages: user("a b"),
        stream: true,
        stream_options: { include_usage: true },
      },
    });
    const last = JSON.parse(sseEvents(withUsage.body).at(-2) ?? "{}");
    expect(last).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 },
    });
  });

  it("uses proxy.default_model when the request names no model", async () => {
    const response = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { messages: user("x") },
    });
    expect(response.json().model).toBe("echo-1");
  });

  it("lists the models", async () => {
    const response = await app.inject({ method: "GET", url: "/v1/models" });
    expect(response.json()).toEqual({
      object: "list",
      data: [
        { id: "echo-1", object: "model", created: 0, owned_by: "echo" },
        { id: "echo-slow", object: "model", created: 0, owned_by: "slow" },
      ],
    });
  });

  it("echoes a valid x-request-id and replaces an invalid one", async () => {
    const kept = await app.inject({
      method: "GET",
      url: "/health",
      headers: { "x-request-id": "rid-abc.123" },
    });
    expect(kept.headers["x-request-id"]).toBe("rid-abc.123");
    const replaced = await app.inject({
      method: "GET",
      url: "/health",
      headers: { "x-request-id": "x".repeat(129) },
    });
    expect(replaced.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(kept.json()).toMatchObject({ status: "ok" });
  });
});

describe("OpenAI facade errors", () => {
  const cases: { name: string; payload: string; status: number; message: RegExp; param?: string | null }[] = [
    { name: "not JSON", payload: "{nope", status: 400, message: /parse the JSON/ },
    { name: "not an object", payload: "[1,2]", status: 400, message: /expected object/i },
    {
      name: "missing messages",
      payload: '{"model":"echo-1"}',
      status: 400,
      message: /messages/,
      param: "messages",
    },
    {
      name: "empty messages",
      payload: '{"model":"echo-1","messages":[]}',
      status: 400,
      message: /at least one/,
    },
    {
      name: "wrong type",
      payload: '{"model":"echo-1","messages":[{"role":"user","content":"x"}],"temperature":"hot"}',
      status: 400,
      message: /temperature/,
      param: "temperature",
    },
    {
      name: "unknown role",
      payload: '{"model":"echo-1","messages":[{"role":"wizard","content":"x"}]}',
      status: 400,
      message: /messages\[0\]\.role/,
    },
    {
      name: "tool message without tool_call_id",
      payload: '{"model":"echo-1","messages":[{"role":"tool","content":"x"}]}',
      status: 400,
      message: /tool_call_id/,
    },
    {
      name: "unknown model",
      payload: '{"model":"gpt-nope","messages":[{"role":"user","content":"x"}]}',
      status: 404,
      message: /gpt-nope/,
      param: "model",
    },
  ];
  for (const testCase of cases) {
    it(`answers ${testCase.status} for ${testCase.name}`, async () => {
      const response = await app.inject({
        method: "POST",
        url: "/v1/chat/completions",
        headers: { "content-type": "application/json" },
        payload: testCase.payload,
      });
      expect(response.statusCode).toBe(testCase.status);
      const { error } = response.json();
      expect(Object.keys(error).sort()).toEqual(["code", "message", "param", "type"]);
      expect(error.message).toMatch(testCase.message);
      if (testCase.param !== undefined) expect(error.param).toBe(testCase.param);
      expect(response.body).not.toMatch(/at .*\.ts:\d+/);
    });
  }

  it("answers 413 for a body over the limit and keeps serving", async () => {
    const small = await buildTestApp(`${ECHO_CONFIG}\nserver: {body_limit: 1000}\n`);
    const response = await small.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { model: "echo-1", messages: user("x".repeat(2000)) },
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe("request_too_large");
    const next = await small.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { messages: user("ok") },
    });
    expect(next.statusCode).toBe(200);
    await small.close();
  });

  it("answers an unknown route with OpenAI's envelope", async () => {
    const response = await app.inject({ method: "GET", url: "/v1/nothing" });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.message).toMatch(/Unknown route/);
  });

  it("accepts JSON sent without a JSON content type (curl -d)", async () => {
    const response = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: JSON.stringify({ messages: user("hi") }),
    });
    expect(response.statusCode).toBe(200);
  });
});
