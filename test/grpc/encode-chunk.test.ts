/**
 * The hand-written batch encoder of the gRPC fast lane must give exactly the bytes of the generated schema: each
 * chunk as `toBinary(ChatCompletionChunk)` of what convert-response.ts builds, in a gRPC length prefix.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatCompletionChunkSchema } from "../../gen/llmproxy/v1/chat_pb.ts";
import type { ChatChunk } from "../../src/core/types.ts";
import { createChunkEncoder } from "../../src/grpc/convert-response.ts";
import { createBatchEncoder } from "../../src/grpc/encode-chunk.ts";

const STREAM = { id: "chatcmpl-ünïcode-1", created: 1_700_000_000, model: "gpt-4o-mini" };

type StreamHead = {
  id: string;
  created: number;
  model: string;
  systemFingerprint?: string;
  serviceTier?: string;
};

/** The messages of a length-prefixed byte stream. */
function messages(bytes: Buffer): ReturnType<typeof fromBinary<typeof ChatCompletionChunkSchema>>[] {
  const out = [];
  for (let at = 0; at < bytes.length; ) {
    const size = bytes.readUInt32BE(at + 1);
    out.push(fromBinary(ChatCompletionChunkSchema, bytes.subarray(at + 5, at + 5 + size)));
    at += 5 + size;
  }
  return out;
}

function reference(
  batches: readonly (readonly ChatChunk[])[],
  includeUsage: boolean,
  stream: StreamHead = STREAM,
): Buffer {
  const encode = createChunkEncoder(stream, includeUsage);
  const parts: Buffer[] = [];
  for (const batch of batches) {
    for (const chunk of batch) {
      const message = encode(chunk);
      if (message === undefined) continue;
      const bytes = toBinary(ChatCompletionChunkSchema, message);
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(bytes.length, 1);
      parts.push(prefix, Buffer.from(bytes));
    }
  }
  return Buffer.concat(parts);
}

function fast(
  batches: readonly (readonly ChatChunk[])[],
  includeUsage: boolean,
  stream: StreamHead = STREAM,
): Buffer {
  const encode = createBatchEncoder(stream, includeUsage);
  return Buffer.concat(batches.flatMap((batch) => encode(batch) ?? []));
}

const text = (choice: number, value: string): ChatChunk => ({ type: "text-delta", choice, text: value });

describe("gRPC batch encoder", () => {
  it("gives the generated schema's bytes for text, several choices, unicode and long texts", () => {
    const long = "x".repeat(200) + "é".repeat(100);
    const batches: ChatChunk[][] = [
      [text(0, "Hello"), text(1, "Bonjour")],
      [text(0, " wörld 🌏"), text(0, ""), text(1, long)],
      [
        { type: "finish", choice: 0, reason: "stop", rawReason: "stop" },
        { type: "finish", choice: 1, reason: "length", rawReason: "length" },
        { type: "usage", usage: { promptTokens: 3, completionTokens: 200, totalTokens: 203 } },
      ],
    ];
    expect(fast(batches, true).equals(reference(batches, true))).toBe(true);
    expect(fast(batches, false).equals(reference(batches, false))).toBe(true);
  });

  it("keeps the role on each choice's first chunk whichever kind comes first", () => {
    const batches: ChatChunk[][] = [
      [{ type: "reasoning-delta", choice: 0, text: "hmm" }, text(0, "A"), text(130, "far choice")],
      [
        { type: "tool-call-start", choice: 2, index: 0, id: "call_1", name: "f" },
        { type: "tool-call-delta", choice: 2, index: 0, arguments: '{"a":1}' },
        { type: "tool-call-end", choice: 2, index: 0 },
        text(2, "after the call"),
        { type: "finish", choice: 2, reason: "tool_calls", rawReason: "tool_calls" },
      ],
    ];
    expect(fast(batches, false).equals(reference(batches, false))).toBe(true);
  });

  it("writes the id/object/created/model head as toBinary does, for long ids, late dates and empty fields", () => {
    const heads: StreamHead[] = [
      { id: "x".repeat(300), created: 5_000_000_000, model: "m" },
      { id: "chatcmpl-1", created: 1_700_000_000.9, model: "" },
      { id: "", created: 0, model: "ünïcode-model" },
    ];
    const batches: ChatChunk[][] = [
      [text(0, "hi")],
      [{ type: "finish", choice: 0, reason: "stop", rawReason: "stop" }],
    ];
    for (const head of heads) expect(fast(batches, false, head)).toEqual(reference(batches, false, head));
  });

  it("gives the generated schema's bytes with the fingerprint and tier on every chunk, set or empty", () => {
    const heads: StreamHead[] = [
      { ...STREAM, systemFingerprint: "fp_44709d6fcb", serviceTier: "default" },
      { ...STREAM, systemFingerprint: "fp_only" },
      { ...STREAM, serviceTier: "" },
    ];
    const batches: ChatChunk[][] = [
      [text(0, "Hello"), text(1, "Bonjour")],
      [
        { type: "finish", choice: 0, reason: "stop", rawReason: "stop" },
        { type: "finish", choice: 1, reason: "stop", rawReason: "stop" },
        { type: "usage", usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 } },
      ],
    ];
    for (const head of heads) {
      const bytes = fast(batches, true, head);
      expect(bytes.equals(reference(batches, true, head))).toBe(true);
      for (const message of messages(bytes)) {
        expect(message.systemFingerprint).toBe(head.systemFingerprint);
        expect(message.serviceTier).toBe(head.serviceTier);
      }
    }
  });

  it("gives the generated schema's bytes for logprobs, refusals, annotations and usage details", () => {
    const logprobs = {
      content: [
        {
          token: "Hi",
          logprob: -0.31725305,
          bytes: [72, 105],
          topLogprobs: [
            { token: "Hi", logprob: -0.31725305, bytes: [72, 105] },
            { token: "Hello", logprob: -1.3190403, bytes: null },
          ],
        },
      ],
      refusal: null,
    };
    const refusalLogprobs = { content: null, refusal: [{ token: "No", logprob: -0.5, bytes: [78, 111] }] };
    const batches: ChatChunk[][] = [
      [text(0, "plain"), { type: "text-delta", choice: 0, text: "Hi", logprobs }, text(0, " there")],
      [
        { type: "text-delta", choice: 1, text: "", logprobs: { content: [], refusal: null } },
        { type: "refusal-delta", choice: 1, text: "No", logprobs: refusalLogprobs },
        {
          type: "annotation-delta",
          choice: 0,
          annotations: [
            { type: "url_citation", url: "https://a.test/é", title: "Á", startIndex: 0, endIndex: 8 },
          ],
        },
        { type: "finish", choice: 0, reason: "stop", rawReason: "stop" },
        { type: "finish", choice: 1, reason: "stop", rawReason: "stop" },
        {
          type: "usage",
          usage: {
            promptTokens: 1117,
            completionTokens: 46,
            totalTokens: 1163,
            cachedTokens: 0,
            cacheWriteTokens: 12,
            promptAudioTokens: 0,
            reasoningTokens: 0,
            completionAudioTokens: 0,
            acceptedPredictionTokens: 3,
            rejectedPredictionTokens: 4,
          },
        },
      ],
    ];
    const head = { ...STREAM, systemFingerprint: "fp_fc9f1d7035", serviceTier: "default" };
    const bytes = fast(batches, true, head);
    expect(bytes.equals(reference(batches, true, head))).toBe(true);
    const decoded = messages(bytes);
    expect(decoded[1]?.choices[0]?.logprobs?.content[0]?.topLogprobs[1]).toMatchObject({
      token: "Hello",
      bytes: [],
    });
    expect(decoded[4]?.choices[0]?.delta?.refusal).toBe("No");
    expect(decoded[5]?.choices[0]?.delta?.annotations[0]?.urlCitation?.title).toBe("Á");
    expect(decoded.at(-1)?.usage).toMatchObject({ cacheWriteTokens: 12, rejectedPredictionTokens: 4 });
  });

  it("encodes nothing for a batch without wire chunks", () => {
    const encode = createBatchEncoder(STREAM, false);
    expect(encode([{ type: "tool-call-end", choice: 0, index: 0 }])).toBeUndefined();
    expect(
      encode([{ type: "usage", usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } }]),
    ).toBeUndefined();
  });
});
