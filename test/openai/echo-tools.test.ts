/**
 * The echo provider's tool calls through the openai SDK, streaming and not: the forced tool (or the first) is
 * called with arguments built from its schema, and a conversation ending in the tool's result gets text back.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ECHO_CONFIG } from "../helpers/build-app.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startServer(ECHO_CONFIG);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await server.close();
});

const tools: OpenAI.ChatCompletionTool[] = [
  { type: "function", function: { name: "noop" } },
  {
    type: "function",
    function: {
      name: "book_table",
      parameters: {
        type: "object",
        properties: {
          restaurant: { type: "string" },
          party: { type: "integer", minimum: 1 },
          when: {
            type: "object",
            properties: { day: { type: "string", enum: ["today", "tomorrow"] }, hour: { type: "integer" } },
            required: ["day", "hour"],
          },
          note: { type: "string" },
        },
        required: ["restaurant", "party", "when"],
      },
    },
  },
];
const forced = { type: "function", function: { name: "book_table" } } as const;
const expectedArguments = { restaurant: "example", party: 1, when: { day: "today", hour: 0 } };

describe("echo with tools, through the openai SDK", () => {
  it("answers a non-streaming call with the forced tool's call and finish_reason tool_calls", async () => {
    const completion = await client.chat.completions.create({
      model: "echo-1",
      messages: [{ role: "user", content: "book it" }],
      tools,
      tool_choice: forced,
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type === "function" && call.function.name).toBe("book_table");
    expect(call?.type === "function" && JSON.parse(call.function.arguments)).toEqual(expectedArguments);
    expect(call?.id).toMatch(/^call_/);
  });

  it("streams the first tool's call when none is forced, and answers its result with text", async () => {
    const stream = await client.chat.completions.create({
      model: "echo-1",
      messages: [{ role: "user", content: "anything" }],
      tools,
      stream: true,
    });
    const names: string[] = [];
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? [])
        if (call.function?.name) names.push(call.function.name);
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(names).toEqual(["noop"]);
    expect(finish).toBe("tool_calls");
    const answer = await client.chat.completions.create({
      model: "echo-1",
      messages: [
        { role: "user", content: "anything" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_1", type: "function", function: { name: "noop", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "call_1", content: "done" },
      ],
      tools,
      tool_choice: "required",
    });
    expect(answer.choices[0]).toMatchObject({
      finish_reason: "stop",
      message: { content: "The tool noop answered: done" },
    });
  });
});
