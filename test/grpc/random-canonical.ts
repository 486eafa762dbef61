/**
 * Seeded generators of canonical requests and chunk streams for the round-trip properties. They stay inside what
 * the wire can represent: no empty strings where proto3 means "unset", finish reasons whose wire value decodes
 * back to the same canonical pair.
 */

import type {
  Annotation,
  ChatChunk,
  ChatMessage,
  ChatRequest,
  ChoiceLogprobs,
  ContentPart,
  FinishReason,
  JsonObject,
  JsonValue,
  ResponseFormat,
  TokenLogprob,
  ToolChoice,
  ToolDefinition,
  TopLogprob,
  Usage,
} from "../../src/core/types.ts";
import { mulberry32 } from "../helpers/seeded-random.ts";

/** Helpers over a seeded PRNG, so a failing seed can be replayed. */
export function createRandom(seed: number) {
  const next = mulberry32(seed);
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => {
    const item = items[int(0, items.length - 1)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  };
  const maybe = <T>(make: () => T): T | undefined => (next() < 0.5 ? make() : undefined);
  const word = (): string =>
    pick(["alpha", "βeta", "γάμμα", "数据", "emoji 🚀", 'quote"d', "line\nbreak", "x"]);
  return { next, int, pick, maybe, word };
}

type Random = ReturnType<typeof createRandom>;

function randomJson(random: Random, depth: number): JsonValue {
  const leaf = (): JsonValue =>
    random.pick([null, true, false, random.int(-1000, 1000), random.next(), random.word()]);
  if (depth === 0) return leaf();
  return random.pick([
    leaf,
    () => Array.from({ length: random.int(0, 3) }, () => randomJson(random, depth - 1)),
    () => randomObject(random, depth - 1),
  ])();
}

function randomObject(random: Random, depth: number): JsonObject {
  const object: JsonObject = {};
  for (let index = random.int(0, 3); index > 0; index--)
    object[`${random.word()}${index}`] = randomJson(random, depth);
  return object;
}

function randomMessage(random: Random): ChatMessage {
  const role = random.pick(["system", "developer", "user", "assistant", "tool"] as const);
  const parts = (): ContentPart[] =>
    Array.from(
      { length: random.int(1, 3) },
      (): ContentPart =>
        random.next() < 0.5
          ? { type: "text", text: random.word() }
          : {
              type: "image_url",
              url: `https://img.test/${random.int(1, 99)}.png`,
              detail: random.maybe(() => random.pick(["auto", "low", "high"] as const)),
            },
    );
  const content =
    role === "assistant" && random.next() < 0.3 ? null : random.next() < 0.7 ? random.word() : parts();
  return {
    role,
    content,
    name: random.maybe(() => `name_${random.int(1, 9)}`),
    toolCallId: role === "tool" ? `call_${random.int(1, 99)}` : undefined,
    toolCalls:
      role === "assistant" && random.next() < 0.5
        ? Array.from({ length: random.int(1, 2) }, (_, index) => ({
            id: `call_${index}`,
            name: `fn_${index}`,
            arguments: JSON.stringify(randomObject(random, 2)),
          }))
        : undefined,
    reasoningContent: role === "assistant" ? random.maybe(() => random.word()) : undefined,
  };
}

function randomTool(random: Random, index: number): ToolDefinition {
  return {
    name: `tool_${index}`,
    description: random.maybe(() => random.word()),
    parameters: random.maybe(() => ({ type: "object", properties: randomObject(random, 2) })),
    strict: random.maybe(() => random.next() < 0.5),
  };
}

function randomResponseFormat(random: Random): ResponseFormat {
  return random.pick<() => ResponseFormat>([
    () => ({ type: "text" }),
    () => ({ type: "json_object" }),
    () => ({
      type: "json_schema",
      name: "answer",
      description: random.maybe(() => random.word()),
      schema: random.maybe(() => randomObject(random, 3)),
      strict: random.maybe(() => random.next() < 0.5),
    }),
  ])();
}

/** A valid canonical request with a random subset of fields. */
export function randomChatRequest(random: Random): ChatRequest {
  const toolChoices: readonly ToolChoice[] = [
    { type: "none" },
    { type: "auto" },
    { type: "required" },
    { type: "function", name: "tool_0" },
  ];
  const tools = random.maybe(() =>
    Array.from({ length: random.int(1, 3) }, (_, index) => randomTool(random, index)),
  );
  return {
    model: random.pick(["gpt-4o-mini", "claude-sonnet", "gemini-pro"]),
    messages: Array.from({ length: random.int(1, 5) }, () => randomMessage(random)),
    temperature: random.maybe(() => random.next() * 2),
    topP: random.maybe(() => random.next()),
    maxTokens: random.maybe(() => random.int(1, 100_000)),
    maxCompletionTokens: random.maybe(() => random.int(1, 100_000)),
    stop: random.maybe(() => Array.from({ length: random.int(1, 4) }, () => random.word())),
    n: random.maybe(() => random.int(1, 128)),
    seed: random.maybe(() => random.pick([0, -1, 42, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])),
    user: random.maybe(() => `user-${random.int(1, 999)}`),
    tools,
    toolChoice: random.maybe(() => random.pick(toolChoices)),
    parallelToolCalls: random.maybe(() => random.next() < 0.5),
    responseFormat: random.maybe(() => randomResponseFormat(random)),
    reasoningEffort: random.maybe(() =>
      random.pick(["none", "minimal", "low", "medium", "high", "xhigh", "max"] as const),
    ),
    presencePenalty: random.maybe(() => random.next() * 4 - 2),
    frequencyPenalty: random.maybe(() => random.next() * 4 - 2),
    includeUsage: random.next() < 0.5,
    extraBody: random.maybe(() => randomObject(random, 3)),
  };
}

function randomTop(random: Random): TopLogprob {
  const token = random.word();
  return { token, logprob: -random.next() * 10, bytes: [...Buffer.from(token)] };
}

/** Logprobs as the wire can carry them: both lists, every token with bytes and alternatives. */
function randomLogprobs(random: Random): ChoiceLogprobs {
  const tokens = (): TokenLogprob[] =>
    Array.from({ length: random.int(0, 2) }, () => ({
      ...randomTop(random),
      topLogprobs: Array.from({ length: random.int(0, 2) }, () => randomTop(random)),
    }));
  return { content: tokens(), refusal: tokens() };
}

/** 1–2 annotations: an empty list has no proto form (a delta without annotations reads the same). */
function randomAnnotations(random: Random): Annotation[] {
  return Array.from({ length: random.int(1, 2) }, (_, index) => ({
    type: "url_citation",
    url: `https://example.test/${random.int(1, 99)}`,
    title: random.word(),
    startIndex: index * 10,
    endIndex: index * 10 + random.int(0, 9),
  }));
}

/** A delta of one choice: mostly text, sometimes with logprobs, reasoning, a refusal or annotations. */
function randomDelta(random: Random, choice: number): ChatChunk {
  const draw = random.next();
  if (draw < 0.45) return { type: "text-delta", choice, text: random.word() };
  if (draw < 0.6)
    return { type: "text-delta", choice, text: random.word(), logprobs: randomLogprobs(random) };
  if (draw < 0.75) return { type: "reasoning-delta", choice, text: random.word() };
  if (draw < 0.85) {
    const logprobs = random.maybe(() => randomLogprobs(random));
    return logprobs === undefined
      ? { type: "refusal-delta", choice, text: random.word() }
      : { type: "refusal-delta", choice, text: random.word(), logprobs };
  }
  return { type: "annotation-delta", choice, annotations: randomAnnotations(random) };
}

/** Usage with a random subset of its details. */
export function randomUsage(random: Random): Usage {
  const count = (): number | undefined => random.maybe(() => random.int(0, 50));
  return {
    promptTokens: 100,
    completionTokens: 60,
    totalTokens: 160,
    cachedTokens: count(),
    cacheWriteTokens: count(),
    promptAudioTokens: count(),
    reasoningTokens: count(),
    completionAudioTokens: count(),
    acceptedPredictionTokens: count(),
    rejectedPredictionTokens: count(),
  };
}

/** Chunks of one choice, in lifecycle order. */
function randomChoiceChunks(random: Random, choice: number): ChatChunk[] {
  const chunks: ChatChunk[] = [];
  for (let step = random.int(0, 4); step > 0; step--) chunks.push(randomDelta(random, choice));
  const toolCount = random.int(0, 2);
  for (let index = 0; index < toolCount; index++) {
    chunks.push({
      type: "tool-call-start",
      choice,
      index,
      id: `call_${choice}_${index}`,
      name: `fn_${index}`,
    });
    for (let piece = random.int(0, 3); piece > 0; piece--) {
      chunks.push({ type: "tool-call-delta", choice, index, arguments: random.word() });
    }
    chunks.push({ type: "tool-call-end", choice, index });
  }
  const finish = random.pick<[FinishReason, string]>([
    ["stop", "stop"],
    ["length", "length"],
    ["tool_calls", "tool_calls"],
    ["content_filter", "content_filter"],
    ["other", "end_turn"],
  ]);
  chunks.push({ type: "finish", choice, reason: finish[0], rawReason: finish[1] });
  return chunks;
}

/** A stream as the core yields it: 1–3 choices interleaved (each in order), then maybe one usage chunk. */
export function randomChunkStream(random: Random): ChatChunk[] {
  const queues = Array.from({ length: random.int(1, 3) }, (_, choice) => randomChoiceChunks(random, choice));
  const stream: ChatChunk[] = [];
  while (queues.some((queue) => queue.length > 0)) {
    const queue = random.pick(queues.filter((candidate) => candidate.length > 0));
    const chunk = queue.shift();
    if (chunk !== undefined) stream.push(chunk);
  }
  if (random.next() < 0.7) stream.push({ type: "usage", usage: randomUsage(random) });
  return stream;
}
