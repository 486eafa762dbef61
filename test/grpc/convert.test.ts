import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  type ChatCompletionChunk,
  CreateChatCompletionRequestSchema,
} from "../../gen/llmproxy/v1/chat_pb.ts";
import { ProxyError } from "../../src/core/errors.ts";
import type { ChatChunk, ChatRequest } from "../../src/core/types.ts";
import { toChatRequest } from "../../src/grpc/convert.ts";
import { createChunkEncoder, toProtoModels, toProtoResponse } from "../../src/grpc/convert-response.ts";
import { fromProtoChunks, toProtoRequest } from "./proto-request.ts";
import { createRandom, randomChatRequest, randomChunkStream } from "./random-canonical.ts";

type RequestInit = MessageInitShape<typeof CreateChatCompletionRequestSchema>;

const USER = { role: "user", content: "hi" } as const;

function decode(init: RequestInit): ChatRequest {
  return toChatRequest(create(CreateChatCompletionRequestSchema, init), "default-model");
}

describe("toChatRequest", () => {
  it("decodes every field", () => {
    const request = decode({
      model: "gpt-4o",
      messages: [
        { role: "developer", content: "Be terse.", name: "policy" },
        {
          role: "user",
          contentParts: [
            { part: { case: "text", value: "What is this?" } },
            { part: { case: "imageUrl", value: { url: "data:image/png;base64,AAA", detail: "low" } } },
            { part: { case: "imageUrl", value: { url: "https://img.test/a.png" } } },
          ],
        },
        {
          role: "assistant",
          reasoningContent: "Need the tool.",
          toolCalls: [{ id: "call_1", type: "function", function: { name: "look", arguments: '{"x":1}' } }],
        },
        { role: "tool", content: "a cat", toolCallId: "call_1" },
      ],
      temperature: 0.7,
      topP: 0.9,
      maxTokens: 100,
      maxCompletionTokens: 200,
      stop: ["END", "STOP"],
      n: 2,
      seed: -42n,
      user: "user-7",
      tools: [
        {
          type: "function",
          function: {
            name: "look",
            description: "Look at things",
            parameters: { type: "object", properties: { x: { type: "integer" } }, required: ["x"] },
            strict: true,
          },
        },
      ],
      toolChoice: { choice: { case: "functionName", value: "look" } },
      responseFormat: {
        type: "json_schema",
        jsonSchema: { name: "answer", description: "The answer", schema: { type: "object" }, strict: false },
      },
      streamOptions: { includeUsage: true },
      reasoningEffort: "high",
      presencePenalty: -1.5,
      frequencyPenalty: 0.25,
      parallelToolCalls: false,
      extraBody: { enable_thinking: true, thinking: { budget_tokens: 1024 }, tags: ["a", null, 1.5] },
    });
    expect(request).toEqual({
      model: "gpt-4o",
      messages: [
        { role: "developer", content: "Be terse.", name: "policy" },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", url: "data:image/png;base64,AAA", detail: "low" },
            { type: "image_url", url: "https://img.test/a.png" },
          ],
        },
        {
          role: "assistant",
          content: null,
          reasoningContent: "Need the tool.",
          toolCalls: [{ id: "call_1", name: "look", arguments: '{"x":1}' }],
        },
        { role: "tool", content: "a cat", toolCallId: "call_1" },
      ],
      temperature: 0.7,
      topP: 0.9,
      maxTokens: 100,
      maxCompletionTokens: 200,
      stop: ["END", "STOP"],
      n: 2,
      seed: -42,
      user: "user-7",
      tools: [
        {
          name: "look",
          description: "Look at things",
          parameters: { type: "object", properties: { x: { type: "integer" } }, required: ["x"] },
          strict: true,
        },
      ],
      toolChoice: { type: "function", name: "look" },
      responseFormat: {
        type: "json_schema",
        name: "answer",
        description: "The answer",
        schema: { type: "object" },
        strict: false,
      },
      includeUsage: true,
      reasoningEffort: "high",
      presencePenalty: -1.5,
      frequencyPenalty: 0.25,
      parallelToolCalls: false,
      extraBody: { enable_thinking: true, thinking: { budget_tokens: 1024 }, tags: ["a", null, 1.5] },
    } satisfies ChatRequest);
  });

  it("treats proto3 zero values as unset", () => {
    const request = decode({ model: "m", messages: [USER] });
    expect(request).toEqual({ model: "m", messages: [{ role: "user", content: "hi" }], includeUsage: false });
    for (const [key, value] of Object.entries(request)) {
      if (!["model", "messages", "includeUsage"].includes(key)) expect(value, key).toBeUndefined();
    }
  });

  it("keeps explicit zero values of optional fields", () => {
    const request = decode({ messages: [USER], temperature: 0, topP: 0, seed: 0n, presencePenalty: 0 });
    expect(request).toMatchObject({ temperature: 0, topP: 0, seed: 0, presencePenalty: 0 });
  });

  it("fills an empty model with the default model", () => {
    expect(decode({ messages: [USER] }).model).toBe("default-model");
    expect(decode({ model: "explicit", messages: [USER] }).model).toBe("explicit");
  });

  it.each([
    ["none", { type: "none" }],
    ["auto", { type: "auto" }],
    ["required", { type: "required" }],
  ])("decodes tool_choice mode %s", (mode, expected) => {
    expect(
      decode({ messages: [USER], toolChoice: { choice: { case: "mode", value: mode } } }).toolChoice,
    ).toEqual(expected);
  });

  it.each(["text", "json_object"])("decodes response_format %s", (type) => {
    expect(decode({ messages: [USER], responseFormat: { type } }).responseFormat).toEqual({ type });
  });

  const INVALID: readonly [string, RequestInit, string][] = [
    ["no messages", { messages: [] }, "messages"],
    ["unknown role", { messages: [{ role: "robot", content: "x" }] }, "messages[0].role"],
    ["empty role", { messages: [USER, { role: "", content: "x" }] }, "messages[1].role"],
    ["tool without tool_call_id", { messages: [{ role: "tool", content: "x" }] }, "messages[0].tool_call_id"],
    ["user without content", { messages: [{ role: "user" }] }, "messages[0].content"],
    [
      "empty content part",
      { messages: [{ role: "user", contentParts: [{}] }] },
      "messages[0].content_parts[0]",
    ],
    [
      "image without url",
      { messages: [{ role: "user", contentParts: [{ part: { case: "imageUrl", value: { url: "" } } }] }] },
      "messages[0].content_parts[0].image_url.url",
    ],
    [
      "bad image detail",
      {
        messages: [
          { role: "user", contentParts: [{ part: { case: "imageUrl", value: { url: "u", detail: "4k" } } }] },
        ],
      },
      "messages[0].content_parts[0].image_url.detail",
    ],
    [
      "tool call without id",
      { messages: [{ role: "assistant", toolCalls: [{ function: { name: "f", arguments: "{}" } }] }] },
      "messages[0].tool_calls[0].id",
    ],
    [
      "tool call without function",
      { messages: [{ role: "assistant", toolCalls: [{ id: "c" }] }] },
      "messages[0].tool_calls[0].function.name",
    ],
    [
      "tool call of another type",
      { messages: [{ role: "assistant", toolCalls: [{ id: "c", type: "code", function: { name: "f" } }] }] },
      "messages[0].tool_calls[0].type",
    ],
    ["n = 0", { messages: [USER], n: 0 }, "n"],
    ["n = 129", { messages: [USER], n: 129 }, "n"],
    ["max_tokens = 0", { messages: [USER], maxTokens: 0 }, "max_tokens"],
    ["max_tokens < 0", { messages: [USER], maxTokens: -5 }, "max_tokens"],
    ["max_completion_tokens = 0", { messages: [USER], maxCompletionTokens: 0 }, "max_completion_tokens"],
    ["temperature > 2", { messages: [USER], temperature: 2.01 }, "temperature"],
    ["temperature < 0", { messages: [USER], temperature: -0.1 }, "temperature"],
    ["temperature NaN", { messages: [USER], temperature: Number.NaN }, "temperature"],
    ["top_p > 1", { messages: [USER], topP: 1.5 }, "top_p"],
    ["presence_penalty < -2", { messages: [USER], presencePenalty: -3 }, "presence_penalty"],
    ["frequency_penalty > 2", { messages: [USER], frequencyPenalty: 2.5 }, "frequency_penalty"],
    ["seed above 2^53", { messages: [USER], seed: 2n ** 53n }, "seed"],
    ["seed below -2^53", { messages: [USER], seed: -(2n ** 53n) }, "seed"],
    ["five stop sequences", { messages: [USER], stop: ["a", "b", "c", "d", "e"] }, "stop"],
    [
      "tool of another type",
      { messages: [USER], tools: [{ type: "retrieval", function: { name: "f" } }] },
      "tools[0].type",
    ],
    [
      "tool without name",
      { messages: [USER], tools: [{ type: "function", function: {} }] },
      "tools[0].function.name",
    ],
    [
      "unknown tool_choice mode",
      { messages: [USER], toolChoice: { choice: { case: "mode", value: "any" } } },
      "tool_choice.mode",
    ],
    [
      "empty tool_choice function",
      { messages: [USER], toolChoice: { choice: { case: "functionName", value: "" } } },
      "tool_choice.function_name",
    ],
    [
      "unknown response_format",
      { messages: [USER], responseFormat: { type: "xml" } },
      "response_format.type",
    ],
    ["empty response_format", { messages: [USER], responseFormat: {} }, "response_format.type"],
    [
      "json_schema without name",
      { messages: [USER], responseFormat: { type: "json_schema", jsonSchema: {} } },
      "response_format.json_schema.name",
    ],
    ["unknown reasoning_effort", { messages: [USER], reasoningEffort: "extreme" }, "reasoning_effort"],
    ["model too long", { model: "m".repeat(257), messages: [USER] }, "model"],
  ];

  it.each(INVALID)("rejects %s as invalid_request naming %s", (_name, init, param) => {
    const error = captureError(() => decode(init));
    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({ kind: "invalid_request", param });
    expect((error as ProxyError).message).toContain(param.replace(/\[\d+\].*$/, ""));
  });

  it("rejects an empty model when there is no default model", () => {
    const request = create(CreateChatCompletionRequestSchema, { messages: [USER] });
    expect(captureError(() => toChatRequest(request, undefined))).toMatchObject({
      kind: "invalid_request",
      param: "model",
    });
  });
});

describe("createChunkEncoder", () => {
  const header = { id: "chatcmpl-1", created: 1_700_000_000, model: "gpt-test" };

  function encodeAll(chunks: readonly ChatChunk[], includeUsage: boolean): ChatCompletionChunk[] {
    const encode = createChunkEncoder(header, includeUsage);
    return chunks.map(encode).filter((chunk) => chunk !== undefined);
  }

  it("stamps every chunk with the stream's id, object, created and model", () => {
    const [chunk] = encodeAll([{ type: "text-delta", choice: 0, text: "hi" }], false);
    expect(chunk).toMatchObject({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      created: 1_700_000_000n,
      model: "gpt-test",
    });
  });

  it("stamps the vendor's fingerprint and tier on every chunk, and sends logprobs-only pieces without content", () => {
    const encode = createChunkEncoder({ ...header, systemFingerprint: "fp_2", serviceTier: "flex" }, true);
    const logprobs = { content: [], refusal: null };
    const chunks = [
      encode({ type: "text-delta", choice: 0, text: "", logprobs }),
      encode({ type: "usage", usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } }),
    ];
    for (const chunk of chunks)
      expect(chunk).toMatchObject({ systemFingerprint: "fp_2", serviceTier: "flex" });
    expect(chunks[0]?.choices[0]?.delta?.content).toBeUndefined();
    expect(chunks[0]?.choices[0]?.logprobs).toMatchObject({ content: [], refusal: [] });
  });

  it("sends role assistant on the first chunk of each choice only", () => {
    const chunks = encodeAll(
      [
        { type: "reasoning-delta", choice: 0, text: "hmm" },
        { type: "text-delta", choice: 1, text: "B" },
        { type: "text-delta", choice: 0, text: "A" },
        { type: "finish", choice: 1, reason: "stop", rawReason: "stop" },
        { type: "finish", choice: 0, reason: "length", rawReason: "max_tokens" },
      ],
      false,
    );
    expect(chunks.map((chunk) => [chunk.choices[0]?.index, chunk.choices[0]?.delta?.role])).toEqual([
      [0, "assistant"],
      [1, "assistant"],
      [0, undefined],
      [1, undefined],
      [0, undefined],
    ]);
    expect(chunks[0]?.choices[0]?.delta?.reasoningContent).toBe("hmm");
    expect(chunks[2]?.choices[0]?.delta?.content).toBe("A");
    expect(chunks.map((chunk) => chunk.choices[0]?.finishReason)).toEqual([
      undefined,
      undefined,
      undefined,
      "stop",
      "length",
    ]);
  });

  it("gives a choice that only finishes its role and empty content on the finish chunk", () => {
    const [chunk] = encodeAll(
      [{ type: "finish", choice: 0, reason: "content_filter", rawReason: "SAFETY" }],
      false,
    );
    expect(chunk?.choices).toMatchObject([
      { index: 0, delta: { role: "assistant", content: "" }, finishReason: "content_filter" },
    ]);
  });

  it("encodes tool calls as OpenAI deltas and drops tool-call-end", () => {
    const chunks = encodeAll(
      [
        { type: "tool-call-start", choice: 0, index: 0, id: "call_a", name: "search" },
        { type: "tool-call-delta", choice: 0, index: 0, arguments: '{"q":' },
        { type: "tool-call-delta", choice: 0, index: 0, arguments: '"x"}' },
        { type: "tool-call-end", choice: 0, index: 0 },
        { type: "tool-call-start", choice: 0, index: 1, id: "call_b", name: "noop" },
        { type: "tool-call-delta", choice: 0, index: 1, arguments: "{}" },
        { type: "tool-call-end", choice: 0, index: 1 },
        { type: "finish", choice: 0, reason: "tool_calls", rawReason: "tool_use" },
      ],
      false,
    );
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.toolCalls)).toMatchObject([
      [{ index: 0, id: "call_a", type: "function", function: { name: "search", arguments: "" } }],
      [{ index: 0, function: { arguments: '{"q":' } }],
      [{ index: 0, function: { arguments: '"x"}' } }],
      [{ index: 1, id: "call_b", type: "function", function: { name: "noop", arguments: "" } }],
      [{ index: 1, function: { arguments: "{}" } }],
      [],
    ]);
    const delta = chunks[1]?.choices[0]?.delta?.toolCalls[0];
    expect([delta?.id, delta?.type, delta?.function?.name]).toEqual([undefined, undefined, undefined]);
    expect(chunks[5]?.choices[0]?.finishReason).toBe("tool_calls");
  });

  it("keeps a vendor's raw reason when the unified one is other", () => {
    const [chunk] = encodeAll(
      [{ type: "finish", choice: 0, reason: "other", rawReason: "pause_turn" }],
      false,
    );
    expect(chunk?.choices[0]?.finishReason).toBe("pause_turn");
  });

  it("sends usage as a chunk without choices only when include_usage was requested", () => {
    const usage: ChatChunk = {
      type: "usage",
      usage: { promptTokens: 9, completionTokens: 4, totalTokens: 13, cachedTokens: 1, reasoningTokens: 2 },
    };
    expect(encodeAll([usage], false)).toEqual([]);
    const [chunk] = encodeAll([usage], true);
    expect(chunk?.choices).toEqual([]);
    expect(chunk?.usage).toMatchObject({
      promptTokens: 9,
      completionTokens: 4,
      totalTokens: 13,
      cachedTokens: 1,
      reasoningTokens: 2,
    });
  });

  it("has no wire form for response-start", () => {
    expect(encodeAll([{ type: "response-start", id: "x", model: "y" }], true)).toEqual([]);
  });
});

describe("toProtoResponse and toProtoModels", () => {
  it("encodes a result as chat.completion", () => {
    const response = toProtoResponse({
      id: "chatcmpl-9",
      model: "m",
      created: 1_700_000_123,
      choices: [
        {
          index: 0,
          content: null,
          toolCalls: [{ id: "c1", name: "f", arguments: "{}" }],
          finishReason: "tool_calls",
          rawFinishReason: "tool_use",
        },
        {
          index: 1,
          content: "yes",
          reasoningContent: "because",
          toolCalls: [],
          finishReason: "other",
          rawFinishReason: "end_turn",
        },
      ],
    });
    expect(response).toMatchObject({
      id: "chatcmpl-9",
      object: "chat.completion",
      created: 1_700_000_123n,
      model: "m",
    });
    expect(response.usage).toBeUndefined();
    expect(response.choices[0]?.message?.content).toBeUndefined();
    expect(response.choices[0]).toMatchObject({
      finishReason: "tool_calls",
      message: {
        role: "assistant",
        toolCalls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
      },
    });
    expect(response.choices[1]).toMatchObject({
      index: 1,
      finishReason: "end_turn",
      message: { role: "assistant", content: "yes", reasoningContent: "because", toolCalls: [] },
    });
  });

  it("carries a refusal, annotations, logprobs, the fingerprint, the tier and every usage detail", () => {
    const logprobs = {
      content: null,
      refusal: [
        { token: "No", logprob: -0.1, bytes: [78, 111], topLogprobs: [{ token: "No", logprob: -0.1 }] },
      ],
    };
    const response = toProtoResponse({
      id: "chatcmpl-10",
      model: "m",
      created: 1,
      systemFingerprint: "fp_1",
      serviceTier: "default",
      choices: [
        {
          index: 0,
          content: null,
          refusal: "No.",
          toolCalls: [],
          annotations: [
            { type: "url_citation", url: "https://a.test", title: "A", startIndex: 0, endIndex: 3 },
          ],
          logprobs,
          finishReason: "stop",
          rawFinishReason: "stop",
        },
      ],
      usage: {
        promptTokens: 10,
        completionTokens: 6,
        totalTokens: 16,
        cachedTokens: 4,
        cacheWriteTokens: 3,
        promptAudioTokens: 2,
        reasoningTokens: 1,
        completionAudioTokens: 0,
        acceptedPredictionTokens: 5,
        rejectedPredictionTokens: 6,
      },
    });
    expect(response).toMatchObject({ systemFingerprint: "fp_1", serviceTier: "default" });
    expect(response.choices[0]?.message).toMatchObject({
      refusal: "No.",
      annotations: [
        {
          type: "url_citation",
          urlCitation: { url: "https://a.test", title: "A", startIndex: 0, endIndex: 3 },
        },
      ],
    });
    expect(response.choices[0]?.message?.content).toBeUndefined();
    expect(response.choices[0]?.logprobs).toMatchObject({
      content: [],
      refusal: [{ token: "No", logprob: -0.1, bytes: [78, 111], topLogprobs: [{ token: "No", bytes: [] }] }],
    });
    expect(response.usage).toMatchObject({
      cacheWriteTokens: 3,
      promptAudioTokens: 2,
      completionAudioTokens: 0,
      acceptedPredictionTokens: 5,
      rejectedPredictionTokens: 6,
    });
  });

  it("encodes the model list", () => {
    const response = toProtoModels([{ id: "a", ownedBy: "openai" }]);
    expect(response).toMatchObject({
      object: "list",
      data: [{ id: "a", object: "model", created: 0n, ownedBy: "openai" }],
    });
  });
});

describe("round trips", () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])(
    "canonical request → proto → binary → canonical is the identity (seed %i)",
    (seed) => {
      const random = createRandom(seed);
      for (let sample = 0; sample < 25; sample++) {
        const request = randomChatRequest(random);
        const bytes = toBinary(CreateChatCompletionRequestSchema, toProtoRequest(request));
        expect(toChatRequest(fromBinary(CreateChatCompletionRequestSchema, bytes), undefined)).toEqual(
          request,
        );
      }
    },
  );

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    "canonical chunks → proto → canonical keeps every wire fact (seed %i)",
    (seed) => {
      const random = createRandom(seed);
      for (let sample = 0; sample < 25; sample++) {
        const chunks = randomChunkStream(random);
        const includeUsage = random.next() < 0.5;
        const encoded = chunks.map(createChunkEncoder({ id: "c", created: 1, model: "m" }, includeUsage));
        const sent = encoded.filter((chunk) => chunk !== undefined);
        const expected = chunks.filter(
          (chunk) => chunk.type !== "tool-call-end" && (chunk.type !== "usage" || includeUsage),
        );
        expect(fromProtoChunks(sent)).toEqual(expected);
        const firstPerChoice = new Set<number>();
        for (const chunk of sent) {
          for (const choice of chunk.choices) {
            expect(choice.delta?.role).toBe(firstPerChoice.has(choice.index) ? undefined : "assistant");
            firstPerChoice.add(choice.index);
          }
        }
      }
    },
  );
});

function captureError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}
