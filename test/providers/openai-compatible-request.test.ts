import { describe, expect, it } from "vitest";
import type { ProviderConfig } from "../../src/config/config.ts";
import type { ChatRequest } from "../../src/core/types.ts";
import { createOpenAICompatibleAdapter } from "../../src/providers/openai-compatible/adapter.ts";
import {
  createReplayTransport,
  createTestContext,
  createTestProviderConfig,
  type RecordedRequest,
  sseRecording,
  TEST_REQUEST_ID,
} from "../helpers/replay-transport.ts";

const API_KEY = "sk-test-request-0a1b2c3d4e5f";

/** Sends `request` through an adapter for `config` and returns what reached the upstream. */
async function sentUpstream(
  request: ChatRequest,
  config: Partial<ProviderConfig> = {},
  /** null: a keyless upstream. */
  apiKey: string | null = API_KEY,
): Promise<RecordedRequest> {
  const transport = createReplayTransport(sseRecording("openai-compatible/text.sse"));
  const adapter = createOpenAICompatibleAdapter(createTestProviderConfig(config), apiKey ?? undefined);
  const context = createTestContext({ upstreamModel: "gpt-4o-mini-2024-07-18", transport });
  const chunks: unknown[] = [];
  for await (const chunk of adapter.stream(request, context)) chunks.push(chunk);
  expect(chunks.length).toBeGreaterThan(0);
  expect(transport.requests).toHaveLength(1);
  const [sent] = transport.requests;
  if (sent === undefined) throw new Error("no request reached the transport");
  return sent;
}

const MINIMAL: ChatRequest = {
  model: "public-name",
  messages: [{ role: "user", content: "Hi" }],
  includeUsage: false,
};

const FULL: ChatRequest = {
  model: "public-name",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "developer", content: [{ type: "text", text: "Use metric units." }] },
    {
      role: "user",
      name: "alice",
      content: [
        { type: "text", text: "What is in this picture, and the weather there?" },
        { type: "image_url", url: "https://example.test/cat.png", detail: "low" },
        { type: "image_url", url: "data:image/png;base64,iVBORw0KGgo=" },
      ],
    },
    {
      role: "assistant",
      content: null,
      toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }],
      reasoningContent: "The user wants the weather.",
    },
    { role: "tool", toolCallId: "call_1", content: '{"temp":21}' },
    { role: "assistant", content: "It is 21 °C.", reasoningContent: "Answer directly." },
  ],
  temperature: 0.2,
  topP: 0.9,
  maxTokens: 256,
  maxCompletionTokens: 512,
  stop: ["\n\n", "END"],
  n: 2,
  seed: 42,
  user: "user-1234",
  tools: [
    {
      name: "get_weather",
      description: "Weather for a city.",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      strict: true,
    },
    { name: "list_files" },
  ],
  toolChoice: { type: "function", name: "get_weather" },
  parallelToolCalls: false,
  responseFormat: { type: "json_schema", name: "weather", schema: { type: "object" }, strict: true },
  reasoningEffort: "low",
  presencePenalty: 0.5,
  frequencyPenalty: -0.5,
  includeUsage: true,
};

describe("openai-compatible request mapping", () => {
  it("posts to {base_url}/chat/completions with the upstream model and the canonical fields in snake_case", async () => {
    const sent = await sentUpstream(FULL);
    expect(sent.url).toBe("https://upstream.test/v1/chat/completions");
    expect(sent.body).toEqual({
      model: "gpt-4o-mini-2024-07-18",
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: "system", content: "Be brief." },
        { role: "developer", content: [{ type: "text", text: "Use metric units." }] },
        {
          role: "user",
          name: "alice",
          content: [
            { type: "text", text: "What is in this picture, and the weather there?" },
            { type: "image_url", image_url: { url: "https://example.test/cat.png", detail: "low" } },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
          ],
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_1",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Paris"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: '{"temp":21}' },
        { role: "assistant", content: "It is 21 °C." },
      ],
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 256,
      max_completion_tokens: 512,
      stop: ["\n\n", "END"],
      n: 2,
      seed: 42,
      user: "user-1234",
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "Weather for a city.",
            parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
            strict: true,
          },
        },
        { type: "function", function: { name: "list_files" } },
      ],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      response_format: {
        type: "json_schema",
        json_schema: { name: "weather", schema: { type: "object" }, strict: true },
      },
      reasoning_effort: "low",
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
    });
  });

  it("leaves unset fields out and always streams, asking for usage even when the client did not", async () => {
    const sent = await sentUpstream(MINIMAL);
    expect(sent.body).toEqual({
      model: "gpt-4o-mini-2024-07-18",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("omits stream_options for vendors that reject it", async () => {
    const sent = await sentUpstream(MINIMAL, { streamOptions: false });
    expect(sent.body).toEqual({
      model: "gpt-4o-mini-2024-07-18",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
  });

  it.each([
    [{ type: "none" }, "none"],
    [{ type: "auto" }, "auto"],
    [{ type: "required" }, "required"],
  ] as const)("maps tool_choice %o to %s", async (toolChoice, wire) => {
    const sent = await sentUpstream({ ...MINIMAL, toolChoice });
    expect(sent.body).toMatchObject({ tool_choice: wire });
  });

  it.each([
    [{ type: "text" }, { type: "text" }],
    [{ type: "json_object" }, { type: "json_object" }],
  ] as const)("maps response_format %o", async (responseFormat, wire) => {
    const sent = await sentUpstream({ ...MINIMAL, responseFormat });
    expect(sent.body).toMatchObject({ response_format: wire });
  });

  it("merges extraBody last, so vendor fields are added and can override ours", async () => {
    const sent = await sentUpstream({
      ...MINIMAL,
      temperature: 0.7,
      extraBody: { enable_thinking: false, temperature: 1, thinking: { type: "disabled" } },
    });
    expect(sent.body).toMatchObject({
      temperature: 1,
      enable_thinking: false,
      thinking: { type: "disabled" },
    });
  });

  it("never lets extraBody set the model, the stream or the messages; other fields still pass", async () => {
    const sent = await sentUpstream({
      ...MINIMAL,
      temperature: 0.7,
      extraBody: {
        model: "gpt-5-expensive",
        stream: false,
        stream_options: { include_usage: false, include_obfuscation: false },
        messages: [{ role: "user", content: "smuggled" }],
        temperature: 1,
        logprobs: true,
      },
    });
    expect(sent.body).toEqual({
      model: "gpt-4o-mini-2024-07-18",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 1,
      logprobs: true,
    });
  });

  it("sends reasoning_content back only with the deepseek quirk, and only on tool-call turns", async () => {
    const sent = await sentUpstream(FULL, { quirks: ["deepseek"] });
    const messages = (sent.body as { messages: Record<string, unknown>[] }).messages;
    expect(messages[3]).toMatchObject({
      role: "assistant",
      reasoning_content: "The user wants the weather.",
    });
    expect(messages[5]).toEqual({ role: "assistant", content: "It is 21 °C." });
  });
});

describe("openai-compatible request headers", () => {
  it("sends bearer auth, JSON and SSE content types, the request id and configured headers", async () => {
    const sent = await sentUpstream(MINIMAL, {
      headers: { "OpenAI-Organization": "org-test", appid: "app-123" },
    });
    expect(sent.headers).toEqual({
      authorization: `Bearer ${API_KEY}`,
      "content-type": "application/json",
      accept: "text/event-stream",
      "x-request-id": TEST_REQUEST_ID,
      "openai-organization": "org-test",
      appid: "app-123",
    });
  });

  it("puts the key in the authorization header and nowhere else", async () => {
    const sent = await sentUpstream(FULL);
    const { authorization, ...otherHeaders } = sent.headers;
    expect(authorization).toBe(`Bearer ${API_KEY}`);
    expect(JSON.stringify([sent.url, otherHeaders, sent.rawBody])).not.toContain(API_KEY);
  });

  it("sends no authorization header to keyless upstreams (Ollama)", async () => {
    const sent = await sentUpstream(MINIMAL, { baseUrl: "http://127.0.0.1:11434/v1" }, null);
    expect(sent.url).toBe("http://127.0.0.1:11434/v1/chat/completions");
    expect(Object.keys(sent.headers).sort()).toEqual(["accept", "content-type", "x-request-id"]);
  });

  it("does not let configured headers replace the request id or the key", async () => {
    const sent = await sentUpstream(MINIMAL, {
      headers: { Authorization: "Bearer other", "X-Request-Id": "fixed" },
    });
    expect(sent.headers).toMatchObject({
      authorization: `Bearer ${API_KEY}`,
      "x-request-id": TEST_REQUEST_ID,
    });
  });
});
