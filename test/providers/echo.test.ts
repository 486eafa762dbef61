import pino from "pino";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import type { ChatChunk } from "../../src/core/types.ts";
import { createEchoAdapter } from "../../src/providers/echo/adapter.ts";
import type { CallContext } from "../../src/providers/types.ts";

const config = parseConfig("model_config: {e: echo}\nproviders: {echo: {token_delay_ms: 0}}\n", "t");
const found = config.providers.get("echo");
if (found === undefined) throw new Error("echo provider missing");
const echoConfig = found;

function context(signal = new AbortController().signal): CallContext {
  return {
    upstreamModel: "echo",
    signal,
    transport: { post: () => Promise.reject(new Error("echo makes no HTTP calls")) },
    log: pino({ level: "silent" }),
    requestId: "rid",
    now: () => 0,
    generateId: (prefix) => `${prefix}-1`,
  };
}

async function run(adapterConfig = echoConfig, overrides = {}, signal?: AbortSignal): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  const adapter = createEchoAdapter(adapterConfig);
  const messages = [
    { role: "system" as const, content: "be brief" },
    { role: "user" as const, content: "hello there, 世界 🌍" },
  ];
  for await (const chunk of adapter.stream(
    { model: "e", messages, includeUsage: false, ...overrides },
    context(signal),
  )) {
    chunks.push(chunk);
  }
  return chunks;
}

describe("echo provider", () => {
  it("streams the last user message back token by token and reports usage", async () => {
    const chunks = await run();
    const text = chunks.flatMap((chunk) => (chunk.type === "text-delta" ? [chunk.text] : []));
    expect(text).toEqual(["hello ", "there, ", "世界 ", "🌍"]);
    expect(chunks[0]).toEqual({ type: "response-start", id: "chatcmpl-1", model: "echo" });
    expect(chunks.at(-2)).toEqual({ type: "finish", choice: 0, reason: "stop", rawReason: "stop" });
    expect(chunks.at(-1)).toEqual({
      type: "usage",
      usage: { promptTokens: 6, completionTokens: 4, totalTokens: 10 },
    });
  });

  it("honours max_tokens with finish_reason length, and n choices", async () => {
    const chunks = await run(echoConfig, { maxTokens: 2, n: 2 });
    expect(chunks.filter((chunk) => chunk.type === "text-delta")).toHaveLength(4);
    expect(
      chunks
        .filter((chunk) => chunk.type === "finish")
        .map((chunk) => chunk.type === "finish" && chunk.choice),
    ).toEqual([0, 1]);
    expect(chunks.find((chunk) => chunk.type === "finish")).toMatchObject({ reason: "length" });
  });

  it("waits the configured delay between tokens and stops when aborted", async () => {
    const slow = { ...echoConfig, tokenDelayMs: 40 };
    const started = performance.now();
    await run(slow);
    expect(performance.now() - started).toBeGreaterThanOrEqual(3 * 40 - 5);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(run(slow, {}, controller.signal)).rejects.toThrow();
  });
});

describe("echo provider with tools", () => {
  const weather = {
    name: "get_weather",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string" },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
        days: { type: "integer", minimum: 1 },
        detail: { type: "boolean" },
        optional: { type: "string" },
        where: {
          type: "object",
          properties: {
            lat: { type: "number" },
            tags: { type: "array", items: { type: "string" }, minItems: 1 },
          },
          required: ["lat", "tags"],
        },
        place: { $ref: "#/$defs/Place" },
        either: { anyOf: [{ type: "null" }, { type: ["integer", "null"] }] },
      },
      required: ["city", "unit", "days", "detail", "where", "place", "either"],
      $defs: { Place: { type: "object", properties: { kind: { const: "city" } }, required: ["kind"] } },
    },
  };

  it("calls the first tool with arguments built from its schema's required properties, finish tool_calls", async () => {
    const chunks = await run(echoConfig, { tools: [weather, { name: "other" }], n: 2 });
    const calls = chunks.filter((chunk) => chunk.type === "tool-call-start");
    expect(calls).toEqual([
      { type: "tool-call-start", choice: 0, index: 0, id: "call-1", name: "get_weather" },
      { type: "tool-call-start", choice: 1, index: 0, id: "call-1", name: "get_weather" },
    ]);
    const delta = chunks.find((chunk) => chunk.type === "tool-call-delta");
    expect(delta?.type === "tool-call-delta" && JSON.parse(delta.arguments)).toEqual({
      city: "example",
      unit: "celsius",
      days: 1,
      detail: true,
      where: { lat: 0, tags: ["example"] },
      place: { kind: "city" },
      either: 0,
    });
    expect(chunks.filter((chunk) => chunk.type === "finish")).toEqual([
      { type: "finish", choice: 0, reason: "tool_calls", rawReason: "tool_calls" },
      { type: "finish", choice: 1, reason: "tool_calls", rawReason: "tool_calls" },
    ]);
    expect(chunks.some((chunk) => chunk.type === "text-delta")).toBe(false);
  });

  it("calls the tool tool_choice forces, and answers text when tool_choice is none", async () => {
    const forced = await run(echoConfig, {
      tools: [weather, { name: "other" }],
      toolChoice: { type: "function", name: "other" },
    });
    expect(forced.find((chunk) => chunk.type === "tool-call-start")).toMatchObject({ name: "other" });
    expect(forced.find((chunk) => chunk.type === "tool-call-delta")).toMatchObject({ arguments: "{}" });
    const none = await run(echoConfig, { tools: [weather], toolChoice: { type: "none" } });
    expect(none.some((chunk) => chunk.type === "tool-call-start")).toBe(false);
    expect(none.find((chunk) => chunk.type === "finish")).toMatchObject({ reason: "stop" });
  });

  it("answers trailing tool results with text naming each tool, even when tool_choice forces a call", async () => {
    const adapter = createEchoAdapter(echoConfig);
    const chunks: ChatChunk[] = [];
    const messages = [
      { role: "user" as const, content: "weather?" },
      {
        role: "assistant" as const,
        content: null,
        toolCalls: [
          { id: "c1", name: "get_weather", arguments: "{}" },
          { id: "c2", name: "get_time", arguments: "{}" },
        ],
      },
      { role: "tool" as const, content: '{"temp":21}', toolCallId: "c1" },
      { role: "tool" as const, content: [{ type: "text" as const, text: "noon" }], toolCallId: "c2" },
    ];
    for await (const chunk of adapter.stream(
      { model: "e", messages, tools: [weather], toolChoice: { type: "required" }, includeUsage: false },
      context(),
    )) {
      chunks.push(chunk);
    }
    const text = chunks.map((chunk) => (chunk.type === "text-delta" ? chunk.text : "")).join("");
    expect(text).toBe('The tool get_weather answered: {"temp":21}\nThe tool get_time answered: noon');
    expect(chunks.find((chunk) => chunk.type === "finish")).toMatchObject({ reason: "stop" });
  });
});
