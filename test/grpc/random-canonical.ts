/**
 * Seeded generators of canonical requests and chunk streams for the round-trip properties. They stay inside what
 * the wire can represent: no empty strings where proto3 means "unset", finish reasons whose wire value decodes
 * back to the same canonical pair.
 */
import type {
  ChatChunk,
  ChatMessage,
  ChatRequest,
  ContentPart,
  FinishReason,
  JsonObject,
  JsonValue,
  ResponseFormat,
  ToolChoice,
  ToolDefinition,
} from "../../src/core/types.ts";

/** A tiny deterministic PRNG (mulberry32), so a failing seed can be replayed. */
export function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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

/** Chunks of one choice, in lifecycle order. */
function randomChoiceChunks(random: Random, choice: number): ChatChunk[] {
  const chunks: ChatChunk[] = [];
  for (let step = random.int(0, 4); step > 0; step--) {
    chunks.push(
      random.next() < 0.7
        ? { type: "text-delta", choice, text: random.word() }
        : { type: "reasoning-delta", choice, text: random.word() },
    );
  }
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
  if (random.next() < 0.7) {
    stream.push({
      type: "usage",
      usage: {
        promptTokens: 10,
        completionTokens: 5,
        totalTokens: 15,
        reasoningTokens: random.maybe(() => 2),
      },
    });
  }
  return stream;
}
