/**
 * /v1/responses items and edge cases through the openai SDK, against an OpenAI-compatible vendor on loopback
 * whose answer is chosen by the upstream model id: reasoning (DeepSeek's reasoning_content) → a reasoning item
 * and summary events; a length stop → `incomplete` with its reason; a failure after the first bytes →
 * `response.failed`. What reached the vendor shows the request mapping: instructions and developer messages as
 * system turns, image parts, json_schema, max_output_tokens, namespace tools flattened and mapped back, hosted
 * tools dropped and named. Malformed requests get clear 400s in OpenAI's envelope, and the next request is served.
 */
import type { ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import OpenAI from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMockOpenAIUpstream } from "../helpers/mock-openai-upstream.ts";
import { type MockUpstream, startMockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

let vendor: MockUpstream;
let toolVendor: MockUpstream;
let server: RunningServer;
let client: OpenAI;

function chunk(delta: Record<string, unknown>, finish: string | null = null): string {
  const body = {
    id: "chatcmpl-v",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
  return `data: ${JSON.stringify(body)}\n\n`;
}

/** Answers by upstream model id (see the file comment). */
function answer(model: string, response: ServerResponse): void {
  response.writeHead(200, { "content-type": "text/event-stream" });
  if (model === "fails") {
    response.write(chunk({ role: "assistant", content: "Partial" }));
    setTimeout(() => response.destroy(), 20);
    return;
  }
  if (model === "reasoner") {
    response.write(chunk({ role: "assistant", reasoning_content: "Think " }));
    response.write(chunk({ reasoning_content: "hard." }));
    response.write(chunk({ content: "Forty-two." }));
    response.write(chunk({}, "stop"));
  } else {
    response.write(chunk({ role: "assistant", content: "Cut sh" }));
    response.write(chunk({}, model === "long" ? "length" : "stop"));
  }
  const usage = {
    prompt_tokens: 9,
    completion_tokens: 5,
    total_tokens: 14,
    completion_tokens_details: { reasoning_tokens: 2 },
  };
  response.write(
    `data: ${JSON.stringify({ id: "chatcmpl-v", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage })}\n\n`,
  );
  response.end("data: [DONE]\n\n");
}

beforeAll(async () => {
  vendor = await startMockUpstream("/v1", (recorded, _request, response) =>
    answer(String(recorded.body.model), response),
  );
  toolVendor = await startMockOpenAIUpstream();
  server = await startServer(`
model_config: {reasoner: vendor, long: vendor, fails: vendor, plain: vendor, tools: tool-vendor}
providers:
  vendor: {type: openai, base_url: "${vendor.baseUrl}"}
  tool-vendor: {type: openai, base_url: "${toolVendor.baseUrl}"}
proxy: {max_retries: 0}
`);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
  await Promise.all([vendor?.close(), toolVendor?.close()]);
});

async function collect(
  params: OpenAI.Responses.ResponseCreateParamsStreaming,
): Promise<ResponseStreamEvent[]> {
  const stream = await client.responses.create(params);
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe("answers", () => {
  it("turns the vendor's reasoning into a reasoning item, streamed as summary events", async () => {
    const stream = client.responses.stream({ model: "reasoner", input: "What is the answer?" });
    let summary = "";
    stream.on("response.reasoning_summary_text.delta", (event) => {
      summary += event.delta;
    });
    const final = await stream.finalResponse();
    expect(summary).toBe("Think hard.");
    expect(final.output.map((item) => item.type)).toEqual(["reasoning", "message"]);
    const reasoning = final.output[0];
    expect(reasoning?.type === "reasoning" && reasoning.summary[0]?.text).toBe("Think hard.");
    expect(final.output_text).toBe("Forty-two.");
    expect(final.usage?.output_tokens_details.reasoning_tokens).toBe(2);

    const json = await client.responses.create({ model: "reasoner", input: "What is the answer?" });
    expect(json.output.map((item) => item.type)).toEqual(["reasoning", "message"]);
    expect(json.output_text).toBe("Forty-two.");
  });

  it("reports a length stop as incomplete with reason max_output_tokens", async () => {
    const events = await collect({
      model: "long",
      input: "Write a lot",
      max_output_tokens: 16,
      stream: true,
    });
    const last = events.at(-1);
    expect(last?.type).toBe("response.incomplete");
    expect(last?.type === "response.incomplete" && last.response.incomplete_details?.reason).toBe(
      "max_output_tokens",
    );
    expect(vendor.requests.at(-1)?.body.max_completion_tokens).toBe(16);
    const json = await client.responses.create({
      model: "long",
      input: "Write a lot",
      max_output_tokens: 16,
    });
    expect(json.status).toBe("incomplete");
    expect(json.incomplete_details?.reason).toBe("max_output_tokens");
  });

  it("ends a stream whose vendor fails mid-way with one response.failed carrying the error", async () => {
    const events = await collect({ model: "fails", input: "Go", stream: true });
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const last = events.at(-1);
    expect(last?.type).toBe("response.failed");
    expect(last?.type === "response.failed" && last.response.error?.message).toBeTruthy();
    const terminal = ["response.completed", "response.incomplete", "response.failed"];
    expect(events.filter((event) => terminal.includes(event.type))).toHaveLength(1);
    expect(
      events.some((event) => event.type === "response.output_text.delta" && event.delta === "Partial"),
    ).toBe(true);
  });
});

describe("what the vendor receives", () => {
  it("maps instructions, developer messages, images, assistant history, json_schema and max_output_tokens", async () => {
    const schema = {
      type: "object",
      properties: { answer: { type: "string" } },
      required: ["answer"],
      additionalProperties: false,
    };
    await client.responses.create({
      model: "plain",
      instructions: "Be terse.",
      input: [
        { role: "developer", content: "Answer in JSON." },
        {
          role: "user",
          content: [
            { type: "input_text", text: "What is this?" },
            { type: "input_image", image_url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" },
          ],
        },
        {
          type: "message",
          id: "msg_earlier",
          status: "completed",
          role: "assistant",
          content: [{ type: "output_text", text: "A pixel.", annotations: [] }],
        },
        { role: "user", content: "Again" },
      ],
      text: { format: { type: "json_schema", name: "reply", schema, strict: true } },
      max_output_tokens: 64,
      store: false,
      include: ["reasoning.encrypted_content"],
    });
    expect(vendor.requests.at(-1)?.body).toMatchObject({
      messages: [
        { role: "system", content: "Be terse." },
        { role: "developer", content: "Answer in JSON." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } },
          ],
        },
        { role: "assistant", content: "A pixel." },
        { role: "user", content: "Again" },
      ],
      response_format: { type: "json_schema", json_schema: { name: "reply", schema, strict: true } },
      max_completion_tokens: 64,
    });
  });

  it("flattens namespace tools, maps the calls back, and drops hosted tools naming them in a header", async () => {
    const { data: response, response: raw } = await client.responses
      .create({
        model: "tools",
        input: "Use the tools",
        tools: [
          { type: "web_search" },
          {
            type: "namespace",
            name: "files",
            description: "File tools",
            tools: [
              { type: "function", name: "read", parameters: { type: "object", properties: {} } },
              { type: "function", name: "list", parameters: { type: "object", properties: {} } },
            ],
          } as unknown as OpenAI.Responses.Tool,
        ],
      })
      .withResponse();
    expect(raw.headers.get("x-llm-proxy-dropped-tools")).toBe("web_search");
    const requestId = raw.headers.get("x-request-id");
    const accessLine = () =>
      server.logs.find((line) => line.msg === "request completed" && line.requestId === requestId);
    // The access line is written when the reply ends, which may be just after the client has read it.
    for (let waited = 0; accessLine() === undefined && waited < 2000; waited += 20) await sleep(20);
    const access = accessLine();
    expect(access).toMatchObject({ api: "responses", droppedTools: "web_search" });
    const sent = toolVendor.requests.at(-1)?.body.tools as { function: { name: string } }[];
    expect(sent.map((tool) => tool.function.name)).toEqual(["files__read", "files__list"]);
    const calls = response.output.filter((item) => item.type === "function_call");
    expect(calls.map((call) => [call.name, (call as { namespace?: string }).namespace])).toEqual([
      ["read", "files"],
      ["list", "files"],
    ]);
    // A resent call maps back to the joined name.
    await client.responses.create({
      model: "tools",
      input: [
        { role: "user", content: "Use the tools" },
        ...calls,
        ...calls.map((call) => ({
          type: "function_call_output" as const,
          call_id: call.call_id,
          output: "ok",
        })),
      ],
    });
    const history = toolVendor.requests.at(-1)?.body.messages as {
      tool_calls?: { function: { name: string } }[];
    }[];
    expect(history[1]?.tool_calls?.map((call) => call.function.name)).toEqual(["files__read", "files__list"]);
  });
});

describe("custom (freeform) tools", () => {
  it("reach the vendor as a function with one string input and come back as custom_tool_call items", async () => {
    const tools = [
      { type: "custom", name: "apply_patch", description: "Apply a patch" },
      { type: "function", name: "lookup", parameters: { type: "object", properties: {} } },
    ] as OpenAI.Responses.Tool[];
    const events = await collect({ model: "tools", input: "Patch it", tools, stream: true });
    const sent = toolVendor.requests.at(-1)?.body.tools as {
      function: { name: string; parameters: unknown };
    }[];
    expect(sent[0]?.function).toMatchObject({
      name: "apply_patch",
      parameters: { type: "object", properties: { input: { type: "string" } }, required: ["input"] },
    });
    const done = events.flatMap((event) => (event.type === "response.output_item.done" ? [event.item] : []));
    expect(done.map((item) => item.type)).toEqual(["custom_tool_call", "function_call"]);
    const custom = done[0];
    // The mock wrote arguments without an `input` key: the client gets them as the input, as they are.
    expect(custom?.type === "custom_tool_call" && custom.input).toBe('{"city":"Paris"}');
    expect(events.some((event) => event.type === "response.custom_tool_call_input.done")).toBe(true);

    await client.responses.create({
      model: "tools",
      input: [
        { role: "user", content: "Patch it" },
        { type: "custom_tool_call", call_id: "call_p", name: "apply_patch", input: "*** Begin Patch" },
        { type: "custom_tool_call_output", call_id: "call_p", output: "Done" },
      ],
      tools,
    });
    const history = toolVendor.requests.at(-1)?.body.messages as Record<string, unknown>[];
    expect(history.slice(1)).toMatchObject([
      {
        role: "assistant",
        tool_calls: [
          { id: "call_p", function: { name: "apply_patch", arguments: '{"input":"*** Begin Patch"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_p", content: "Done" },
    ]);
  });
});

describe("refusals", () => {
  const bad: [string, Record<string, unknown>, RegExp, string | null][] = [
    [
      "previous_response_id",
      { model: "plain", input: "hi", previous_response_id: "resp_1" },
      /resend/i,
      "unsupported_parameter",
    ],
    [
      "conversation",
      { model: "plain", input: "hi", conversation: "conv_1" },
      /resend/i,
      "unsupported_parameter",
    ],
    [
      "a wrong item type",
      { model: "plain", input: [{ type: "computer_call_output", call_id: "c" }] },
      /computer_call_output/,
      null,
    ],
    [
      "a wrong part type",
      { model: "plain", input: [{ role: "user", content: [{ type: "input_audio" }] }] },
      /input_audio/,
      null,
    ],
    [
      "a schema that is not an object",
      { model: "plain", input: "hi", text: { format: { type: "json_schema", name: "x", schema: "nope" } } },
      /text\.format/,
      null,
    ],
    [
      "a tool without a name",
      { model: "plain", input: "hi", tools: [{ type: "function", parameters: {} }] },
      /tools\[0\]/,
      null,
    ],
    [
      "a forced hosted tool",
      { model: "plain", input: "hi", tools: [{ type: "web_search" }], tool_choice: { type: "web_search" } },
      /web_search/,
      "unsupported_tool",
    ],
    ["input of the wrong type", { model: "plain", input: 42 }, /input/, null],
  ];
  it.each(bad)(
    "answers %s with a clear 400, then serves the next request",
    async (_name, body, message, code) => {
      const error = await client.responses
        .create(body as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming)
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      const apiError = error as InstanceType<typeof OpenAI.BadRequestError>;
      expect(apiError.message).toMatch(message);
      expect(apiError.code ?? null).toBe(code);
      expect((await client.responses.create({ model: "plain", input: "next" })).status).toBe("completed");
    },
  );

  it("refuses a body over the size limit with 413, then serves the next request", async () => {
    const error = await client.responses
      .create({ model: "plain", input: "x".repeat(11 * 1024 * 1024) })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect((await client.responses.create({ model: "plain", input: "next" })).status).toBe("completed");
  });
});
