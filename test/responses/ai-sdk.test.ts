/**
 * The Vercel AI SDK's `openai` provider (whose default model speaks the Responses API) and the OpenAI Agents SDK
 * (its default Responses model) through /v1/responses, against mock OpenAI-compatible, Anthropic and Gemini
 * vendors: `generateText` and `streamText` with text, a two-tool round trip run by the SDK's own loop (the tools'
 * results reach the vendor and its answer quotes them), and an agent run with a tool.
 */
import { createOpenAI } from "@ai-sdk/openai";
import { Agent, tool as agentTool, run, setDefaultOpenAIClient, setTracingDisabled } from "@openai/agents";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startVendorGateway, type VendorGateway, vendorProviders } from "../helpers/vendor-gateway.ts";

const WEATHER = "18C and sunny";
const TIME = "14:05 CEST";

let gateway: VendorGateway;

beforeAll(async () => {
  gateway = await startVendorGateway(
    (mocks) => `
model_config: {oa-model: oa-vendor, claude-model: claude-vendor, gemini-model: gemini-vendor}
providers:
${vendorProviders(mocks)}
proxy: {max_retries: 0}
`,
  );
});
afterAll(async () => {
  await gateway?.close();
});

const anyObject = jsonSchema<Record<string, unknown>>({
  type: "object",
  properties: { city: { type: "string" } },
});
/** The mocks call the first two tools offered; each answers a fixed string. */
const tools = {
  get_weather: tool({
    description: "Weather in a city",
    inputSchema: anyObject,
    execute: async () => WEATHER,
  }),
  get_time: tool({ description: "Time in a city", inputSchema: anyObject, execute: async () => TIME }),
};

describe.each(["oa-model", "claude-model", "gemini-model"])(
  "the AI SDK's default openai model: %s",
  (model) => {
    const provider = () => createOpenAI({ baseURL: `${gateway.server.url}/v1`, apiKey: "unused" });

    it("generates text", async () => {
      const result = await generateText({ model: provider()(model), prompt: "Hello from the AI SDK" });
      expect(result.text).toContain("Hello from the AI SDK");
      expect(result.finishReason).toBe("stop");
      expect(result.usage.totalTokens).toBeGreaterThan(0);
    });

    it("streams text", async () => {
      const result = streamText({ model: provider()(model), prompt: "Streaming from the AI SDK" });
      let text = "";
      for await (const delta of result.textStream) text += delta;
      expect(text).toContain("Streaming from the AI SDK");
      expect(await result.finishReason).toBe("stop");
    });

    it("runs a two-tool round trip, streamed", async () => {
      const result = streamText({
        model: provider()(model),
        prompt: "What is the weather and the time in Paris?",
        tools,
        stopWhen: stepCountIs(3),
      });
      let text = "";
      for await (const delta of result.textStream) text += delta;
      const steps = await result.steps;
      expect(steps[0]?.toolCalls.map((call) => call.toolName)).toEqual(["get_weather", "get_time"]);
      expect(text).toContain(WEATHER);
      expect(text).toContain(TIME);
    });

    it("runs a two-tool round trip with generateText", async () => {
      const result = await generateText({
        model: provider()(model),
        prompt: "What is the weather and the time in Paris?",
        tools,
        stopWhen: stepCountIs(3),
      });
      expect(result.steps[0]?.toolCalls.map((call) => call.toolName)).toEqual(["get_weather", "get_time"]);
      expect(result.text).toContain(WEATHER);
      expect(result.text).toContain(TIME);
    });
  },
);

describe("the OpenAI Agents SDK", () => {
  it.each(["oa-model", "claude-model", "gemini-model"])("runs an agent with tools on %s", async (model) => {
    setTracingDisabled(true);
    setDefaultOpenAIClient(
      new OpenAI({ baseURL: `${gateway.server.url}/v1`, apiKey: "unused", maxRetries: 0 }),
    );
    const parameters = {
      type: "object" as const,
      properties: { city: { type: "string" } },
      required: [] as string[],
      additionalProperties: true as const,
    };
    const agent = new Agent({
      name: "Assistant",
      instructions: "Answer with the tools' results.",
      model,
      tools: [
        agentTool({
          name: "get_weather",
          description: "Weather",
          parameters,
          strict: false,
          execute: async () => WEATHER,
        }),
        agentTool({
          name: "get_time",
          description: "Time",
          parameters,
          strict: false,
          execute: async () => TIME,
        }),
      ],
    });
    const result = await run(agent, "What is the weather and the time in Paris?");
    expect(result.finalOutput).toContain(WEATHER);
    expect(result.finalOutput).toContain(TIME);
  });
});
