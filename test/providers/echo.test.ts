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
