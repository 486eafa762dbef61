/**
 * The Messages edge through the official `@anthropic-ai/sdk` (messages.create, messages.stream with its accumulated
 * finalMessage(), countTokens, a two-tool round trip) against mock OpenAI-compatible, Anthropic and Gemini vendors
 * on loopback; errors in Anthropic's shape (401 without a key, 404 model, 400 bad input), x-api-key and Bearer
 * keys, request ids, and `api="messages"` in /metrics and the access line.
 */
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANTHROPIC_MOCK_COUNT } from "../helpers/mock-anthropic-upstream.ts";
import { startVendorGateway, type VendorGateway, vendorProviders } from "../helpers/vendor-gateway.ts";

const CLIENT_KEY = "sk-client-messages-0123456789";

const TOOLS: Anthropic.Tool[] = [
  {
    name: "get_weather",
    description: "Current weather in a city",
    input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
  {
    name: "get_time",
    description: "Local time in a time zone",
    input_schema: { type: "object", properties: { timezone: { type: "string" } }, required: ["timezone"] },
  },
];

let gateway: VendorGateway;

beforeAll(async () => {
  gateway = await startVendorGateway(
    (mocks) => `
model_config:
  oa-model: oa-vendor
  claude-model: claude-vendor
  gemini-model: gemini-vendor
  claude-broken: claude-vendor
  claude-busy: claude-vendor
model_routes:
  oa-vendor: {oa-model: oa-upstream}
  claude-vendor: {claude-model: claude-upstream, claude-broken: midstream-error, claude-busy: status-529}
  gemini-vendor: {gemini-model: gemini-upstream}
providers:
${vendorProviders(mocks)}
proxy: {max_retries: 0}
auth:
  keys:
    - {name: client, key: ${CLIENT_KEY}}
`,
  );
});

afterAll(async () => {
  await gateway?.close();
});

/**
 * A client with the key as its `apiKey` or its `authToken` (this SDK version sends both as Bearer; the x-api-key
 * header is tested with raw requests below), or with a wrong key.
 */
function client(auth: "api-key" | "bearer" | "none" = "api-key"): Anthropic {
  return new Anthropic({
    baseURL: gateway.server.url,
    maxRetries: 0,
    ...(auth === "api-key" ? { apiKey: CLIENT_KEY } : {}),
    ...(auth === "bearer" ? { apiKey: null, authToken: CLIENT_KEY } : {}),
    ...(auth === "none" ? { apiKey: "sk-wrong-key" } : {}),
  });
}

const VENDORS = ["oa-model", "claude-model", "gemini-model"] as const;

function textOf(message: Anthropic.Message): string {
  return message.content.map((block) => (block.type === "text" ? block.text : "")).join("");
}

describe.each(VENDORS)("the Anthropic SDK through /v1/messages to %s", (model) => {
  it("answers messages.create with a whole message", async () => {
    const message = await client().messages.create({
      model,
      max_tokens: 100,
      system: "Be brief.",
      messages: [{ role: "user", content: "Hello there gateway" }],
    });
    expect(message.id).toMatch(/^msg_/);
    expect(message.type).toBe("message");
    expect(message.role).toBe("assistant");
    expect(textOf(message)).toContain("Hello there gateway");
    expect(message.stop_reason).toBe("end_turn");
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  it("streams with messages.stream and accumulates finalMessage()", async () => {
    const stream = client("bearer").messages.stream({
      model,
      max_tokens: 100,
      system: [{ type: "text", text: "Be brief." }],
      messages: [{ role: "user", content: [{ type: "text", text: "Stream me please" }] }],
    });
    const deltas: string[] = [];
    stream.on("text", (text) => deltas.push(text));
    const message = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(textOf(message));
    expect(textOf(message)).toContain("Stream me please");
    expect(message.stop_reason).toBe("end_turn");
    expect(message.content.every((block) => block.type !== "text" || block.text !== "")).toBe(true);
  });

  it("runs a two-tool round trip with toolu_ ids that find their calls", async () => {
    const question: Anthropic.MessageParam = { role: "user", content: "Weather and time in Paris?" };
    const first = await client()
      .messages.stream({ model, max_tokens: 200, tools: TOOLS, messages: [question] })
      .finalMessage();
    expect(first.stop_reason).toBe("tool_use");
    const uses = first.content.filter((block): block is Anthropic.ToolUseBlock => block.type === "tool_use");
    expect(uses.map((use) => use.name)).toEqual(["get_weather", "get_time"]);
    for (const use of uses) expect(use.id).toMatch(/^toolu_[A-Za-z0-9_-]+$/);
    expect(new Set(uses.map((use) => use.id)).size).toBe(2);
    expect(first.content.some((block) => block.type === "text" && block.text === "")).toBe(false);
    expect(uses[0]?.input).toMatchObject({ city: "Paris" });

    const second = await client().messages.create({
      model,
      max_tokens: 200,
      tools: TOOLS,
      messages: [
        question,
        { role: "assistant", content: first.content },
        {
          role: "user",
          content: uses.map((use, index) => ({
            type: "tool_result" as const,
            tool_use_id: use.id,
            content: index === 0 ? "18C and sunny" : [{ type: "text" as const, text: "14:05 CEST" }],
          })),
        },
      ],
    });
    expect(second.stop_reason).toBe("end_turn");
    expect(textOf(second)).toContain("18C and sunny");
    expect(textOf(second)).toContain("14:05 CEST");
  });

  it("counts tokens", async () => {
    const count = await client().messages.countTokens({
      model,
      system: "Be brief.",
      tools: TOOLS,
      messages: [{ role: "user", content: "How many tokens is this?" }],
    });
    expect(count.input_tokens).toBeGreaterThan(10);
    // Anthropic counts itself (the mock's fixed answer); the others are the gateway's estimate.
    if (model === "claude-model") expect(count.input_tokens).toBe(ANTHROPIC_MOCK_COUNT);
    else expect(count.input_tokens).not.toBe(ANTHROPIC_MOCK_COUNT);
  });
});

describe("ids between the Messages edge and an OpenAI-compatible vendor", () => {
  it("sends the vendor its own call ids back in the tool results", async () => {
    const before = gateway.openai.requests.length;
    const first = await client().messages.create({
      model: "oa-model",
      max_tokens: 100,
      tools: TOOLS,
      messages: [{ role: "user", content: "Paris?" }],
    });
    const uses = first.content.filter((block): block is Anthropic.ToolUseBlock => block.type === "tool_use");
    await client().messages.create({
      model: "oa-model",
      max_tokens: 100,
      messages: [
        { role: "user", content: "Paris?" },
        { role: "assistant", content: first.content },
        {
          role: "user",
          content: uses.map((use) => ({ type: "tool_result" as const, tool_use_id: use.id, content: "ok" })),
        },
      ],
    });
    const sent = gateway.openai.requests.slice(before).at(-1)?.body as {
      messages: Record<string, unknown>[];
    };
    const assistant = sent.messages.find((message) => message.role === "assistant") as {
      tool_calls: { id: string }[];
    };
    expect(assistant.tool_calls.map((call) => call.id)).toEqual(["call_0", "call_1"]);
    expect(
      sent.messages.filter((message) => message.role === "tool").map((message) => message.tool_call_id),
    ).toEqual(["call_0", "call_1"]);
  });
});

describe("images from the Messages edge", () => {
  const PNG =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
  const content: Anthropic.ContentBlockParam[] = [
    { type: "text", text: "What is this?" },
    { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
  ];

  it("reach an OpenAI-compatible vendor as an image_url data URL", async () => {
    const before = gateway.openai.requests.length;
    await client().messages.create({
      model: "oa-model",
      max_tokens: 20,
      messages: [{ role: "user", content }],
    });
    const sent = JSON.stringify(gateway.openai.requests.slice(before)[0]?.body);
    expect(sent).toContain(`"url":"data:image/png;base64,${PNG}"`);
  });

  it("reach Gemini as inline data", async () => {
    const before = gateway.gemini.requests.length;
    await client().messages.create({
      model: "gemini-model",
      max_tokens: 20,
      messages: [{ role: "user", content }],
    });
    const sent = JSON.stringify(gateway.gemini.requests.slice(before)[0]?.body);
    expect(sent).toContain(`"mimeType":"image/png"`);
    expect(sent).toContain(PNG);
  });

  it("reach Anthropic as the client sent them", async () => {
    const before = gateway.anthropic.requests.length;
    await client().messages.create({
      model: "claude-model",
      max_tokens: 20,
      messages: [{ role: "user", content }],
    });
    expect(gateway.anthropic.requests.slice(before)[0]?.body.messages).toEqual([{ role: "user", content }]);
  });
});

describe("errors in Anthropic's shape", () => {
  it("refuses a missing or wrong key with a 401 authentication_error", async () => {
    const error = await client("none")
      .messages.create({ model: "oa-model", max_tokens: 10, messages: [{ role: "user", content: "hi" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "authentication_error" },
    });
  });

  it("takes the key from x-api-key on the other API routes too", async () => {
    const withKey = await fetch(`${gateway.server.url}/v1/models`, { headers: { "x-api-key": CLIENT_KEY } });
    expect(withKey.status).toBe(200);
    const wrong = await fetch(`${gateway.server.url}/v1/models`, {
      headers: { "x-api-key": "sk-not-a-key-000000" },
    });
    expect(wrong.status).toBe(401);
  });

  it("answers an unknown model with a 404 not_found_error", async () => {
    const error = await client()
      .messages.create({
        model: "no-such-model",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "not_found_error" },
    });
  });

  it("answers bad input with a 400 invalid_request_error naming the field, with a request id", async () => {
    const response = await fetch(`${gateway.server.url}/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-api-key": CLIENT_KEY,
        "x-request-id": "req-messages-1",
      },
      body: JSON.stringify({ model: "oa-model", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("x-request-id")).toBe("req-messages-1");
    const body = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toMatch(/max_tokens/);
  });

  it("ends a stream that fails after its start with event: error", async () => {
    const stream = client().messages.stream({
      model: "claude-broken",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
    });
    const texts: string[] = [];
    stream.on("text", (text) => texts.push(text));
    const error = await stream.finalMessage().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(String((error as Error).message)).toMatch(/overloaded_error/);
    expect(texts.join("")).toBe("Partial answer");
  });

  it("says an overloaded vendor is overloaded with a 529 overloaded_error", async () => {
    const response = await fetch(`${gateway.server.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": CLIENT_KEY },
      body: JSON.stringify({
        model: "claude-busy",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    expect(response.status).toBe(529);
    expect(await response.json()).toMatchObject({ type: "error", error: { type: "overloaded_error" } });
  });
});

describe("observability", () => {
  it("labels metrics and access lines api=messages", async () => {
    await client().messages.create({
      model: "oa-model",
      max_tokens: 10,
      messages: [{ role: "user", content: "x" }],
    });
    const metrics = await (
      await fetch(`${gateway.server.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })
    ).text();
    expect(metrics).toMatch(/api="messages"/);
    expect(gateway.server.logs.some((line) => line.api === "messages")).toBe(true);
  });
});
