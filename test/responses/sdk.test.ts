/**
 * POST /v1/responses through the official openai SDK (`responses.create`, `responses.stream` with its typed
 * events and `finalResponse()`), against mock OpenAI-compatible, Anthropic and Gemini vendors and echo: a text
 * turn as JSON and as a stream, and a two-tool round trip where the vendor gets its own tool-call ids back.
 */
import OpenAI from "openai";
import type { ResponseInputItem, ResponseStreamEvent } from "openai/resources/responses/responses";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANTHROPIC_MOCK_TOOL_USES } from "../helpers/mock-anthropic-upstream.ts";
import {
  startVendorGateway,
  VENDOR_ROUTES,
  type VendorGateway,
  vendorProviders,
} from "../helpers/vendor-gateway.ts";

const QUESTION = "What is the weather and the time in Paris?";
const RESULTS = ["18C and sunny", "14:05 CEST"] as const;
const TOOLS: OpenAI.Responses.FunctionTool[] = [
  {
    type: "function",
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    strict: false,
  },
  {
    type: "function",
    name: "get_time",
    description: "Local time in a time zone",
    parameters: { type: "object", properties: { timezone: { type: "string" } }, required: ["timezone"] },
    strict: false,
  },
];

let gateway: VendorGateway;
let client: OpenAI;

beforeAll(async () => {
  gateway = await startVendorGateway(
    (mocks) => `
model_config: {oa-model: oa-vendor, claude-model: claude-vendor, gemini-model: gemini-vendor, echo-model: echo}
${VENDOR_ROUTES}
providers:
${vendorProviders(mocks)}
  echo: {type: echo}
proxy: {max_retries: 0}
`,
  );
  client = new OpenAI({ baseURL: `${gateway.server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await gateway?.close();
});

/** Checks the stream's framing: numbered from 0 without gaps, opened as OpenAI opens it, one terminal event. */
function expectWellFormed(events: readonly ResponseStreamEvent[]): void {
  expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
  expect(events[0]?.type).toBe("response.created");
  expect(events[1]?.type).toBe("response.in_progress");
  const terminal = events.filter((event) =>
    ["response.completed", "response.incomplete", "response.failed"].includes(event.type),
  );
  expect(terminal).toHaveLength(1);
  expect(events.at(-1)).toBe(terminal[0]);
}

describe.each(["oa-model", "claude-model", "gemini-model", "echo-model"])(
  "%s through /v1/responses",
  (model) => {
    it("answers a text turn as JSON", async () => {
      const { data: response, response: raw } = await client.responses
        .create({ model, input: "Say hello", instructions: "Be brief." })
        .withResponse();
      expect(raw.headers.get("x-request-id")).toBeTruthy();
      expect(response.object).toBe("response");
      expect(response.id).toMatch(/^resp_/);
      expect(response.status).toBe("completed");
      expect(response.model).toBe(model);
      expect(response.output_text.length).toBeGreaterThan(0);
      if (model !== "echo-model") expect(response.output_text).toContain("Say hello");
      expect(response.usage?.total_tokens).toBeGreaterThan(0);
    });

    it("streams a text turn with typed events and a final response", async () => {
      const stream = client.responses.stream({ model, input: [{ role: "user", content: "Stream hello" }] });
      const events: ResponseStreamEvent[] = [];
      let text = "";
      stream.on("response.output_text.delta", (event) => {
        text += event.delta;
      });
      for await (const event of stream) events.push(event);
      const final = await stream.finalResponse();
      expectWellFormed(events);
      expect(events.at(-1)?.type).toBe("response.completed");
      expect(final.status).toBe("completed");
      expect(final.output_text).toBe(text);
      expect(text.length).toBeGreaterThan(0);
      if (model !== "echo-model") expect(text).toContain("Stream hello");
      const types = events.map((event) => event.type);
      for (const type of [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
      ]) {
        expect(types).toContain(type);
      }
    });

    it("runs a tool round trip, giving the vendor its own call ids back", async () => {
      const stream = client.responses.stream({ model, input: QUESTION, tools: TOOLS });
      const events: ResponseStreamEvent[] = [];
      for await (const event of stream) events.push(event);
      const first = await stream.finalResponse();
      expectWellFormed(events);
      const calls = first.output.filter((item) => item.type === "function_call");
      // Echo calls one tool (the first); the mock vendors call the first two.
      const names = model === "echo-model" ? ["get_weather"] : ["get_weather", "get_time"];
      expect(calls.map((call) => call.name)).toEqual(names);
      for (const call of calls) expect(() => JSON.parse(call.arguments)).not.toThrow();
      expect(events.some((event) => event.type === "response.function_call_arguments.delta")).toBe(true);
      if (model === "claude-model") {
        expect(calls.map((call) => call.call_id)).toEqual(ANTHROPIC_MOCK_TOOL_USES.map((use) => use.id));
      }
      const history: ResponseInputItem[] = [
        { role: "user", content: QUESTION },
        ...first.output.map((item) => item as ResponseInputItem),
        ...calls.map((call, index) => ({
          type: "function_call_output" as const,
          call_id: call.call_id,
          output: RESULTS[index] ?? "",
        })),
      ];
      const second = await client.responses.create({ model, input: history, tools: TOOLS });
      expect(second.status).toBe("completed");
      for (const result of RESULTS.slice(0, names.length)) expect(second.output_text).toContain(result);
    });
  },
);

describe("what reached the vendors", () => {
  it("gives an OpenAI-compatible vendor its own tool-call ids and the tool results", async () => {
    const before = gateway.openai.requests.length;
    const first = await client.responses.create({ model: "oa-model", input: QUESTION, tools: TOOLS });
    const calls = first.output.filter((item) => item.type === "function_call");
    await client.responses.create({
      model: "oa-model",
      input: [
        { role: "user", content: QUESTION },
        ...calls,
        ...calls.map((call, index) => ({
          type: "function_call_output" as const,
          call_id: call.call_id,
          output: RESULTS[index] ?? "",
        })),
      ],
      tools: TOOLS,
    });
    const followUp = gateway.openai.requests[before + 1];
    const messages = followUp?.body.messages as Record<string, unknown>[];
    expect(messages.slice(1)).toMatchObject([
      {
        role: "assistant",
        tool_calls: calls.map((call) => ({ id: call.call_id, function: { name: call.name } })),
      },
      { role: "tool", tool_call_id: calls[0]?.call_id, content: RESULTS[0] },
      { role: "tool", tool_call_id: calls[1]?.call_id, content: RESULTS[1] },
    ]);
  });

  it("labels metrics api=responses", async () => {
    await client.responses.create({ model: "echo-model", input: "count me" });
    const metrics = await (await fetch(`${gateway.server.url}/metrics`)).text();
    expect(metrics).toMatch(/api="responses"/);
  });
});
