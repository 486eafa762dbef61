import { describe, expect, it } from "vitest";
import type { QuirkName } from "../../src/config/config.ts";
import { ProxyError } from "../../src/core/errors.ts";
import { createOpenAICompatibleAdapter } from "../../src/providers/openai-compatible/adapter.ts";
import { resolveQuirks } from "../../src/providers/openai-compatible/quirks.ts";
import { createTestProviderConfig, type Recording, sseRecording } from "../helpers/replay-transport.ts";
import {
  CONFORMANCE_REQUEST,
  CONFORMANCE_TOOL_REQUEST,
  expectWellFormedStream,
  finishesOf,
  lastUsage,
  replay,
  type StreamOutcome,
  textOf,
  toolCallsOf,
} from "./adapter-conformance.ts";

const SEEDS = [1, 2, 3, 4, 5, 6];

/** Replays a vendor fixture through an adapter with the given quirks, with several chunkings. */
async function replayWithQuirks(
  file: string,
  quirks: readonly QuirkName[],
  check: (outcome: StreamOutcome) => void,
): Promise<void> {
  const suite = {
    makeAdapter: () => createOpenAICompatibleAdapter(createTestProviderConfig({ quirks }), "sk-test"),
    upstreamModel: "vendor-model",
  };
  const recording: Recording = sseRecording(`openai-compatible/${file}`);
  for (const seed of SEEDS)
    check(await replay(suite, recording, CONFORMANCE_TOOL_REQUEST, { seed, maxChunkBytes: 16 }));
  check(await replay(suite, recording, CONFORMANCE_REQUEST, { maxChunkBytes: 1 }));
}

function expectKind(error: unknown, kind: string): void {
  expect(error).toBeInstanceOf(ProxyError);
  expect((error as ProxyError).kind).toBe(kind);
}

describe("dashscope quirk", () => {
  it("keeps the first id although later fragments repeat id:'' and type", async () => {
    await replayWithQuirks("dashscope-tool-calls.sse", ["dashscope"], ({ chunks, error }) => {
      expect(error).toBeUndefined();
      expectWellFormedStream(chunks);
      expect(toolCallsOf(chunks)).toEqual([
        {
          index: 0,
          id: "call_eee11723464a4b9eb8cee71d",
          name: "get_weather",
          arguments: '{"city": "Hangzhou"}',
        },
        { index: 1, id: "call_0b5c9d3e6f7a48c1a2b3c4d5", name: "get_time", arguments: '{"city": "杭州"}' },
      ]);
      expect(lastUsage(chunks)).toEqual({
        promptTokens: 295,
        completionTokens: 44,
        totalTokens: 339,
        cachedTokens: 0,
      });
    });
  });

  it("never splits a call on a repeated header, even one with a new id and name", async () => {
    await replayWithQuirks("index-reuse.sse", ["dashscope"], ({ chunks, error }) => {
      expect(error).toBeUndefined();
      expect(toolCallsOf(chunks).map((call) => [call.id, call.name])).toEqual([["call_a1", "get_weather"]]);
    });
  });
});

describe("deepseek quirk", () => {
  it("reads keep-alive comments, reasoning, a tool call and usage on the finish chunk", async () => {
    await replayWithQuirks("deepseek-tool-call.sse", ["deepseek"], ({ chunks, error }) => {
      expect(error).toBeUndefined();
      expectWellFormedStream(chunks);
      expect(textOf(chunks, "reasoning-delta")).toBe("Need weather.");
      expect(toolCallsOf(chunks)).toEqual([
        {
          index: 0,
          id: "call_00_IhCAliIHtM9gKpgfqbBV9873",
          name: "get_weather",
          arguments: '{"city": "San Francisco"}',
        },
      ]);
      expect(lastUsage(chunks)).toEqual({
        promptTokens: 374,
        completionTokens: 61,
        totalTokens: 435,
        cachedTokens: 256,
        reasoningTokens: 17,
      });
    });
  });

  it("turns insufficient_system_resource into a retryable overload after the partial text", async () => {
    await replayWithQuirks("deepseek-insufficient-resource.sse", ["deepseek"], ({ chunks, error }) => {
      expectKind(error, "overloaded");
      expect((error as ProxyError).retryable).toBe(true);
      expect(textOf(chunks)).toBe("Sure, here");
      expect(finishesOf(chunks)).toEqual([]);
    });
  });

  it("without the quirk, passes insufficient_system_resource through as `other`", async () => {
    await replayWithQuirks("deepseek-insufficient-resource.sse", [], ({ chunks, error }) => {
      expect(error).toBeUndefined();
      expect(finishesOf(chunks)).toEqual([
        { choice: 0, reason: "other", rawReason: "insufficient_system_resource" },
      ]);
    });
  });
});

describe("moonshot quirk", () => {
  it("reads usage from choices[0].usage, with the top-level cached_tokens", async () => {
    await replayWithQuirks("moonshot-choice-usage.sse", ["moonshot"], ({ chunks, error }) => {
      expect(error).toBeUndefined();
      expectWellFormedStream(chunks);
      expect(textOf(chunks)).toBe("你好！");
      expect(textOf(chunks, "reasoning-delta")).toBe("Greet.");
      expect(lastUsage(chunks)).toEqual({
        promptTokens: 112,
        completionTokens: 5,
        totalTokens: 117,
        cachedTokens: 96,
        reasoningTokens: 2,
      });
    });
  });

  it("without the quirk, usage inside a choice is not read", async () => {
    await replayWithQuirks("moonshot-choice-usage.sse", [], ({ chunks, error }) => {
      expect(error).toBeUndefined();
      expect(lastUsage(chunks)).toBeUndefined();
    });
  });
});

describe("zhipu quirk", () => {
  it("maps `sensitive` to content_filter, keeping the raw value", async () => {
    await replayWithQuirks("zhipu-sensitive.sse", ["zhipu"], ({ chunks, error }) => {
      expect(error).toBeUndefined();
      expectWellFormedStream(chunks);
      expect(textOf(chunks)).toBe("关于这个");
      expect(finishesOf(chunks)).toEqual([{ choice: 0, reason: "content_filter", rawReason: "sensitive" }]);
      expect(lastUsage(chunks)).toEqual({
        promptTokens: 18,
        completionTokens: 2,
        totalTokens: 20,
        cachedTokens: 0,
      });
    });
  });

  it("turns `network_error` into an upstream_error after the partial text", async () => {
    await replayWithQuirks("zhipu-network-error.sse", ["zhipu"], ({ chunks, error }) => {
      expectKind(error, "upstream_error");
      expect(textOf(chunks)).toBe("正在生成");
    });
  });

  it("without the quirk, `sensitive` is `other`", async () => {
    await replayWithQuirks("zhipu-sensitive.sse", [], ({ chunks }) => {
      expect(finishesOf(chunks)).toEqual([{ choice: 0, reason: "other", rawReason: "sensitive" }]);
    });
  });
});

describe("resolveQuirks", () => {
  it("starts from plain OpenAI behaviour", () => {
    expect(resolveQuirks([])).toEqual({
      finishReasons: new Map(),
      repeatsToolCallHeaders: false,
      usageInChoices: false,
      sendsReasoningContent: false,
      requiresStreaming: false,
    });
  });

  it("keeps DashScope streaming even for whole answers (its thinking models refuse non-streaming calls)", () => {
    expect(resolveQuirks(["dashscope"])).toMatchObject({
      requiresStreaming: true,
      repeatsToolCallHeaders: true,
    });
  });

  it("merges several quirks", () => {
    const quirks = resolveQuirks(["deepseek", "zhipu", "moonshot"]);
    expect([...quirks.finishReasons.keys()].sort()).toEqual([
      "insufficient_system_resource",
      "network_error",
      "sensitive",
    ]);
    expect(quirks).toMatchObject({
      usageInChoices: true,
      sendsReasoningContent: true,
      repeatsToolCallHeaders: false,
    });
  });
});
