/**
 * Both edges hold a chat request to the same bounds (src/core/request-bounds.ts): for every bound, the value just
 * inside is accepted and the value just outside refused, by the OpenAI routes' schema and by the gRPC converter
 * alike.
 */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CreateChatCompletionRequestSchema } from "../../gen/llmproxy/v1/chat_pb.ts";
import {
  CHOICES,
  MAX_NAME_CHARS,
  MAX_STOP_SEQUENCES,
  MAX_TOOL_NAME_CHARS,
  MAX_TOOLS,
  MIN_MESSAGES,
  PENALTY,
  TEMPERATURE,
  TOKEN_COUNT,
  TOP_P,
} from "../../src/core/request-bounds.ts";
import { toChatRequest } from "../../src/grpc/convert.ts";
import { chatCompletionRequestSchema } from "../../src/openai/request-schema.ts";

/** One value of one field, as each edge's client sends it. */
interface Probe {
  readonly name: string;
  readonly openai: Record<string, unknown>;
  readonly grpc: Record<string, unknown>;
}

const user = (index: number) => ({ role: "user", content: `message ${index}` });
const messages = (count: number) => Array.from({ length: count }, (_, index) => user(index));
const tools = (count: number, nameChars = 8) =>
  Array.from({ length: count }, (_, index) => ({
    type: "function",
    function: { name: `${index}`.padEnd(nameChars, "t") },
  }));
const text = (chars: number) => "m".repeat(chars);

/** The same field under both names (OpenAI's snake_case, the proto's camelCase) with the same value. */
function field(openai: string, grpc: string, value: unknown): Probe {
  return {
    name: `${openai}=${JSON.stringify(value).slice(0, 40)}`,
    openai: { [openai]: value },
    grpc: { [grpc]: value },
  };
}

/** For each bound: the values just inside it, and those just outside. */
const BOUNDS: readonly { readonly inside: readonly Probe[]; readonly outside: readonly Probe[] }[] = [
  {
    inside: [field("model", "model", text(MAX_NAME_CHARS))],
    outside: [field("model", "model", text(MAX_NAME_CHARS + 1))],
  },
  {
    inside: [field("user", "user", text(MAX_NAME_CHARS))],
    outside: [field("user", "user", text(MAX_NAME_CHARS + 1))],
  },
  {
    inside: [field("messages", "messages", messages(MIN_MESSAGES))],
    outside: [field("messages", "messages", messages(MIN_MESSAGES - 1))],
  },
  {
    inside: [field("tools", "tools", tools(MAX_TOOLS))],
    outside: [field("tools", "tools", tools(MAX_TOOLS + 1))],
  },
  {
    inside: [field("tools", "tools", tools(1, MAX_TOOL_NAME_CHARS))],
    outside: [field("tools", "tools", tools(1, MAX_TOOL_NAME_CHARS + 1))],
  },
  {
    inside: [field("stop", "stop", Array(MAX_STOP_SEQUENCES).fill("."))],
    outside: [field("stop", "stop", Array(MAX_STOP_SEQUENCES + 1).fill("."))],
  },
  ...(
    [
      ["n", "n", CHOICES, 1],
      ["max_tokens", "maxTokens", TOKEN_COUNT, 1],
      ["max_completion_tokens", "maxCompletionTokens", TOKEN_COUNT, 1],
      ["temperature", "temperature", TEMPERATURE, 0.01],
      ["top_p", "topP", TOP_P, 0.01],
      ["presence_penalty", "presencePenalty", PENALTY, 0.01],
      ["frequency_penalty", "frequencyPenalty", PENALTY, 0.01],
    ] as const
  ).map(([openai, grpc, range, step]) => ({
    inside: [field(openai, grpc, range.min), field(openai, grpc, range.max)],
    outside: [field(openai, grpc, range.min - step), field(openai, grpc, range.max + step)],
  })),
];

function openaiAccepts(probe: Probe): boolean {
  return chatCompletionRequestSchema.safeParse({ model: "m", messages: messages(1), ...probe.openai })
    .success;
}

function grpcAccepts(probe: Probe): boolean {
  const request = create(CreateChatCompletionRequestSchema, {
    model: "m",
    messages: messages(1),
    ...probe.grpc,
  });
  try {
    toChatRequest(request, undefined);
    return true;
  } catch {
    return false;
  }
}

describe("request bounds", () => {
  it("are the same on the OpenAI routes and on gRPC: inside accepted, outside refused", () => {
    for (const { inside, outside } of BOUNDS) {
      for (const probe of inside)
        expect([openaiAccepts(probe), grpcAccepts(probe)], probe.name).toEqual([true, true]);
      for (const probe of outside)
        expect([openaiAccepts(probe), grpcAccepts(probe)], probe.name).toEqual([false, false]);
    }
  });
});
