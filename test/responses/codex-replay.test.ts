/**
 * Requests shaped as Codex CLI (0.171, default config, `codex exec`) sends them, replayed over raw HTTP to
 * /v1/responses with an OpenAI-compatible vendor and echo behind it: developer messages with item ids, function
 * tools with `strict: false`, a `namespace` tool, a hosted `web_search` tool, `store: false`,
 * `include: ["reasoning.encrypted_content"]`, `reasoning.summary`, `prompt_cache_key`, `client_metadata`; then the
 * second turn of a tool round trip carrying the `function_call` (with its `fc_` id and status) and its
 * `function_call_output`. Each is served as a well-formed event stream, and the vendor gets the flattened tools and
 * its own call id back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMockOpenAIUpstream } from "../helpers/mock-openai-upstream.ts";
import type { MockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const objectParameters = (properties: Record<string, unknown>, required: string[]) => ({
  type: "object",
  properties,
  required,
  additionalProperties: false,
});

const CODEX_TOOLS = [
  {
    type: "function",
    name: "exec_command",
    description: "Runs a command in a PTY.",
    strict: false,
    parameters: objectParameters({ cmd: { type: "string" }, workdir: { type: "string" } }, ["cmd"]),
  },
  {
    type: "function",
    name: "get_goal",
    description: "Reads the current goal.",
    strict: false,
    parameters: objectParameters({}, []),
  },
  {
    type: "namespace",
    name: "multi_agent_v1",
    description: "Sub-agents.",
    tools: [
      {
        type: "function",
        name: "spawn_agent",
        strict: false,
        parameters: objectParameters({ task: { type: "string" } }, ["task"]),
      },
      { type: "function", name: "wait_agent", strict: false, parameters: objectParameters({}, []) },
    ],
  },
  { type: "web_search", external_web_access: false },
];

function codexBody(model: string, extraInput: unknown[] = []): Record<string, unknown> {
  return {
    model,
    instructions: undefined,
    input: [
      {
        type: "message",
        id: "msg_0001",
        role: "developer",
        content: [{ type: "input_text", text: "You are a coding agent." }],
      },
      {
        type: "message",
        id: "msg_0002",
        role: "user",
        content: [{ type: "input_text", text: "<environment_context>cwd</environment_context>" }],
      },
      {
        type: "message",
        id: "msg_0003",
        role: "user",
        content: [{ type: "input_text", text: "Hello, what is the goal?" }],
      },
      ...extraInput,
    ],
    tools: CODEX_TOOLS,
    tool_choice: "auto",
    parallel_tool_calls: true,
    reasoning: { summary: "auto" },
    store: false,
    stream: true,
    include: ["reasoning.encrypted_content"],
    prompt_cache_key: "0a1b2c3d-thread",
    client_metadata: { originator: "codex_exec" },
  };
}

let vendor: MockUpstream;
let server: RunningServer;

beforeAll(async () => {
  vendor = await startMockOpenAIUpstream();
  server = await startServer(`
model_config: {codex-model: vendor, echo-1: echo}
providers:
  vendor: {type: openai, base_url: "${vendor.baseUrl}"}
  echo: {type: echo}
`);
});
afterAll(async () => {
  await server?.close();
  await vendor?.close();
});

interface Sse {
  readonly headers: Headers;
  readonly events: { readonly name: string; readonly data: Record<string, unknown> }[];
}

async function post(body: Record<string, unknown>): Promise<Sse> {
  const response = await fetch(`${server.url}/v1/responses`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "text/event-stream",
      authorization: "Bearer codex",
    },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  const text = await response.text();
  const events = text
    .split("\n\n")
    .filter((block) => block !== "")
    .map((block) => {
      const [eventLine, dataLine] = block.split("\n");
      return {
        name: eventLine?.replace(/^event: /, "") ?? "",
        data: JSON.parse(dataLine?.replace(/^data: /, "") ?? ""),
      };
    });
  return { headers: response.headers, events };
}

function expectWellFormed(events: Sse["events"]): void {
  for (const [index, event] of events.entries()) {
    expect(event.data.type).toBe(event.name);
    expect(event.data.sequence_number).toBe(index);
  }
  expect(events.at(-1)?.name).toBe("response.completed");
}

describe("Codex-shaped requests", () => {
  it("serves the first turn: flattened namespace, dropped web_search, calls mapped back", async () => {
    const { headers, events } = await post(codexBody("codex-model"));
    expectWellFormed(events);
    expect(headers.get("x-llm-proxy-dropped-tools")).toBe("web_search");
    const sent = vendor.requests.at(-1)?.body as {
      tools: { function: { name: string } }[];
      messages: { role: string }[];
    };
    expect(sent.tools.map((tool) => tool.function.name)).toEqual([
      "exec_command",
      "get_goal",
      "multi_agent_v1__spawn_agent",
      "multi_agent_v1__wait_agent",
    ]);
    expect(sent.messages.map((message) => message.role)).toEqual(["developer", "user", "user"]);
    const done = events
      .filter((event) => event.name === "response.output_item.done")
      .map((event) => event.data.item);
    expect(done).toMatchObject([
      { type: "function_call", name: "exec_command", status: "completed" },
      { type: "function_call", name: "get_goal", status: "completed" },
    ]);
  });

  it("serves the second turn of a tool round trip, giving the vendor its call id back", async () => {
    const { events } = await post(
      codexBody("codex-model", [
        {
          type: "function_call",
          status: "completed",
          id: "fc_0001",
          name: "get_goal",
          arguments: "{}",
          call_id: "call_once",
        },
        { type: "function_call_output", id: "fco_0001", call_id: "call_once", output: '{"goal":null}' },
      ]),
    );
    expectWellFormed(events);
    const messages = vendor.requests.at(-1)?.body.messages as Record<string, unknown>[];
    expect(messages.slice(3)).toMatchObject([
      {
        role: "assistant",
        tool_calls: [{ id: "call_once", function: { name: "get_goal", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "call_once", content: '{"goal":null}' },
    ]);
    const completed = events.at(-1)?.data.response as {
      output: { type: string; content?: { text: string }[] }[];
    };
    expect(completed.output[0]?.content?.[0]?.text).toContain('{"goal":null}');
  });

  it("serves echo the same way (the README's Codex snippet)", async () => {
    const { events } = await post(codexBody("echo-1"));
    expectWellFormed(events);
    const completed = events.at(-1)?.data.response as { output: { type: string; name?: string }[] };
    expect(
      completed.output.some((item) => item.type === "function_call" && item.name === "exec_command"),
    ).toBe(true);
  });
});
