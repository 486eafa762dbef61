/**
 * Issue 24 on the Responses edge: two-step tool loops with reasoning on, through the openai SDK's
 * `client.responses.create`, against mocks that refuse the second step as Anthropic, Gemini 3 and DeepSeek do. The
 * app asks for `reasoning.encrypted_content` with `store: false` (as Codex does) and sends back the output items
 * as received plus a `function_call_output` per call; streamed, it keeps the items of `response.output_item.done`
 * in the order they came (as Codex does).
 */
import OpenAI from "openai";
import type {
  FunctionTool,
  ResponseInputItem,
  ResponseOutputItem,
  ResponseStreamEvent,
} from "openai/resources/responses/responses";
import { beforeAll, describe, expect, it } from "vitest";
import {
  expectGeminiSignatureBack,
  expectNoReasoningStateInLogs,
  expectOneIgnoredCarrier,
  lastBody,
  tamperedCarrier,
  useReasoningGateway,
} from "../helpers/reasoning-suite.ts";
import { THINKING_TEXT } from "../helpers/thinking-anthropic-mock.ts";
import { DEEPSEEK_REASONING } from "../helpers/thinking-deepseek-mock.ts";
import { GEMINI_SENTINEL, GEMINI_THOUGHT } from "../helpers/thinking-gemini-mock.ts";

const gateway = useReasoningGateway();
let client: OpenAI;

beforeAll(() => {
  client = new OpenAI({ baseURL: `${gateway.server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

const TOOLS: FunctionTool[] = [
  {
    type: "function",
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" } } },
    strict: false,
  },
];
const TOOL_RESULT = "18C and sunny";
const CARRIER = /^r1-k1-[A-Za-z0-9_-]+$/;

type Mode = "json" | "stream";

interface Answer {
  readonly output: ResponseOutputItem[];
  readonly text: string;
  readonly events: ResponseStreamEvent[];
}

async function ask(
  model: string,
  input: ResponseInputItem[],
  mode: Mode,
  include: boolean = true,
): Promise<Answer> {
  const params = {
    model,
    input,
    tools: TOOLS,
    reasoning: { effort: "medium" as const },
    store: false,
    ...(include ? { include: ["reasoning.encrypted_content" as const] } : {}),
  };
  if (mode === "json") {
    const response = await client.responses.create(params);
    return { output: response.output, text: response.output_text, events: [] };
  }
  const events: ResponseStreamEvent[] = [];
  const output: ResponseOutputItem[] = [];
  let text = "";
  for await (const event of await client.responses.create({ ...params, stream: true })) {
    events.push(event);
    if (event.type === "response.output_item.done") output.push(event.item);
    if (event.type === "response.output_text.delta") text += event.delta;
    if (event.type === "response.completed") expect(event.response.output).toEqual(output);
  }
  return { output, text, events };
}

/** Step 1: the model calls a tool; the app keeps the output items as received and answers every call. */
async function firstStep(model: string, mode: Mode, include = true): Promise<ResponseInputItem[]> {
  const input: ResponseInputItem[] = [{ role: "user", content: "Weather in Paris?" }];
  const first = await ask(model, input, mode, include);
  const calls = first.output.filter((item) => item.type === "function_call");
  expect(calls).toHaveLength(1);
  input.push(...(first.output as ResponseInputItem[]));
  for (const call of calls)
    input.push({ type: "function_call_output", call_id: call.call_id, output: TOOL_RESULT });
  return input;
}

function reasoningItems(input: readonly ResponseInputItem[]): { encrypted_content?: string | null }[] {
  return input.filter((item) => item.type === "reasoning") as { encrypted_content?: string | null }[];
}

interface Block {
  type: string;
  signature?: string;
  thinking?: string;
}

describe.each<Mode>(["json", "stream"])("two-step tool loops with reasoning on (%s)", (mode) => {
  it("Anthropic gets its thinking blocks back, signatures and all, from the reasoning item", async () => {
    const input = await firstStep("claude", mode);
    expect(input.map((item) => item.type ?? "message")).toEqual([
      "message",
      "reasoning",
      "function_call",
      "function_call_output",
    ]);
    const [reasoning] = reasoningItems(input);
    expect(reasoning?.encrypted_content).toMatch(CARRIER);
    expect(String(reasoning?.encrypted_content)).not.toContain(THINKING_TEXT);
    const second = await ask("claude", input, mode);
    expect(second.text).toBe(`Tool results: ${TOOL_RESULT}`);
    const body = lastBody(gateway.anthropic);
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    const turn = (body.messages as { role: string; content: Block[] }[])[1];
    expect(turn?.content.map((block) => block.type)).toEqual(["thinking", "redacted_thinking", "tool_use"]);
    expect(gateway.anthropic.signatures.get(turn?.content[0]?.signature ?? "")).toBe(THINKING_TEXT);
  });

  it("Gemini 3 gets its function call's own thoughtSignature back (not the skip sentinel)", async () => {
    const input = await firstStep("gemini", mode);
    const [reasoning] = reasoningItems(input);
    expect(reasoning?.encrypted_content).toMatch(CARRIER);
    const second = await ask("gemini", input, mode);
    expect(second.text).toContain("Tool results:");
    expectGeminiSignatureBack(gateway);
    // The answer's last part is signed after its text: a turn that ends in text needs no carrier after it.
    expect(second.output.at(-1)?.type).toBe("message");
  });

  it("DeepSeek gets the turn's reasoning_content back on the tool-call turn (from the reasoning item's summary)", async () => {
    const input = await firstStep("deepseek", mode);
    const reasoning = input.find((item) => item.type === "reasoning") as { summary: { text: string }[] };
    expect(DEEPSEEK_REASONING).toContain(reasoning.summary[0]?.text ?? "-");
    const second = await ask("deepseek", input, mode);
    expect(second.text).toBe(`Tool results: ${TOOL_RESULT}`);
    const sent = (lastBody(gateway.deepseek).messages as Record<string, unknown>[])[1];
    expect(sent?.reasoning_content).toBe(reasoning.summary[0]?.text);
  });
});

describe("the stream's reasoning item", () => {
  it("is done, with its encrypted_content, before the call it precedes is added", async () => {
    const { events } = await ask("gemini", [{ role: "user", content: "Weather in Paris?" }], "stream");
    const shown = events.flatMap((event) =>
      event.type === "response.output_item.added" || event.type === "response.output_item.done"
        ? [`${event.type.slice(21)} ${event.output_index} ${event.item.type}`]
        : [],
    );
    expect(shown).toEqual([
      "added 0 reasoning",
      "done 0 reasoning",
      "added 1 function_call",
      "done 1 function_call",
    ]);
    const sequence = events.map((event) => event.sequence_number);
    expect(sequence).toEqual(sequence.map((_, index) => index));
    const done = events.find((event) => event.type === "response.output_item.done");
    expect(done?.type === "response.output_item.done" && done.item).toMatchObject({
      type: "reasoning",
      summary: [{ type: "summary_text", text: GEMINI_THOUGHT }],
      encrypted_content: expect.stringMatching(CARRIER),
    });
  });

  it("a carrier after the calls (the closing one of a turn whose state came late) goes back with that turn", async () => {
    const input = await firstStep("gemini", "json");
    const at = input.findIndex((item) => item.type === "reasoning");
    const [reasoning] = input.splice(at, 1);
    input.splice(at + 1, 0, reasoning as ResponseInputItem);
    expect(input.map((item) => item.type ?? "message")).toEqual([
      "message",
      "function_call",
      "reasoning",
      "function_call_output",
    ]);
    await ask("gemini", input, "json");
    expectGeminiSignatureBack(gateway);
  });

  it("carries no encrypted_content unless the client asks for it (and the loop still goes on)", async () => {
    const input = await firstStep("claude", "stream", false);
    expect(reasoningItems(input)).toHaveLength(1);
    expect(reasoningItems(input)[0]).not.toHaveProperty("encrypted_content");
    const second = await ask("claude", input, "json", false);
    expect(second.output.some((item) => item.type === "reasoning" && "encrypted_content" in item)).toBe(
      false,
    );
    expect(second.text).toBe(`Tool results: ${TOOL_RESULT}`);
    expect(lastBody(gateway.anthropic)).not.toHaveProperty("thinking");
  });
});

describe("state never crosses vendors, and a bad carrier is ignored", () => {
  it("a fallback from Anthropic to Gemini 3 drops Anthropic's state (Gemini gets the sentinel, no 400)", async () => {
    const input = await firstStep("claude", "json");
    gateway.anthropic.setOverloaded(true);
    const second = await ask("claude", input, "stream");
    expect(second.text).toContain("Tool results:");
    const contents = JSON.stringify(lastBody(gateway.gemini));
    expect(contents).not.toContain(THINKING_TEXT.slice(0, 20));
    expect(contents).toContain(GEMINI_SENTINEL);
  });

  it("a model switch from Gemini 3 to Anthropic drops Gemini's state; that step runs without thinking", async () => {
    const input = await firstStep("gemini", "stream");
    const second = await ask("claude", input, "json");
    expect(second.text).toBe(`Tool results: ${TOOL_RESULT}`);
    expect(lastBody(gateway.anthropic)).not.toHaveProperty("thinking");
  });

  it("a tampered carrier: one warning without its content, and no 400 from the vendor", async () => {
    const input = await firstStep("claude", "json");
    const reasoning = reasoningItems(input)[0] as { encrypted_content: string };
    const carrier = reasoning.encrypted_content;
    reasoning.encrypted_content = tamperedCarrier(carrier);
    // A second bad carrier in the same request: still one warning.
    input.push({ type: "reasoning", id: "rs_x", summary: [], encrypted_content: "gAAAAABforeign" });
    const logsBefore = gateway.server.logs.length;
    const second = await ask("claude", input, "stream");
    expect(second.text).toBe(`Tool results: ${TOOL_RESULT}`);
    expect(lastBody(gateway.anthropic)).not.toHaveProperty("thinking");
    expectOneIgnoredCarrier(gateway, logsBefore, carrier);
  });

  it("no reasoning state in the gateway's logs", () => {
    expectNoReasoningStateInLogs(gateway);
  });
});
