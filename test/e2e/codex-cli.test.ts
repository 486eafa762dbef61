/**
 * Codex CLI itself through the gateway's /v1/responses, with its default tools: `codex exec` with a temporary
 * CODEX_HOME whose config.toml is the README's snippet plus what keeps it on loopback (approval never, a
 * read-only sandbox, analytics, feedback, update checks, plugins and apps off; an HTTP(S) proxy that refuses
 * everything catches anything else, loopback exempt). Two turns against an OpenAI-compatible vendor mock: a text
 * turn, and a turn where the model calls Codex's own `exec_command` tool, Codex runs it, and the vendor gets the
 * command's output back with its own call id. Codex CLI is not a dependency of the project: its pinned version
 * lives in a cache folder outside the clone (test/helpers/agent-clis.ts).
 */
import type { ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CODEX_CLI, ensureAgentCli } from "../helpers/agent-clis.ts";
import { codexExec, NOBODY_PROXY } from "../helpers/agent-runs.ts";
import { type MockUpstream, startMockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const TEXT_ANSWER = "Hello from the vendor mock.";
const TOOL_CALL_ID = "call_codex_e2e_1";
const MARKER = "codex-tool-ran";

function sse(delta: object, finish: string | null = null): string {
  const body = {
    id: "chatcmpl-codex",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
  return `data: ${JSON.stringify(body)}\n\n`;
}

/**
 * The vendor: `codex-text` answers text; `codex-tool` calls exec_command (printing MARKER) unless the last
 * message is the tool's result, which it quotes.
 */
function answer(body: Record<string, unknown>, response: ServerResponse): void {
  response.writeHead(200, { "content-type": "text/event-stream" });
  const messages = body.messages as { role: string; content: unknown }[];
  const last = messages.at(-1);
  let events: string;
  if (body.model === "codex-tool" && last?.role !== "tool") {
    const call = {
      index: 0,
      id: TOOL_CALL_ID,
      type: "function",
      function: { name: "exec_command", arguments: "" },
    };
    events =
      sse({ role: "assistant", tool_calls: [call] }) +
      sse({
        tool_calls: [{ index: 0, function: { arguments: JSON.stringify({ cmd: `echo ${MARKER}` }) } }],
      }) +
      sse({}, "tool_calls");
  } else {
    const text = last?.role === "tool" ? `The command printed: ${String(last.content)}` : TEXT_ANSWER;
    events = sse({ role: "assistant", content: text }) + sse({}, "stop");
  }
  response.end(`${events}data: [DONE]\n\n`);
}

let vendor: MockUpstream;
let server: RunningServer;

beforeAll(async () => {
  await ensureAgentCli(CODEX_CLI);
  vendor = await startMockUpstream("/v1", (recorded, _request, response) => answer(recorded.body, response));
  server = await startServer(`
providers:
  vendor: {type: openai, base_url: "${vendor.baseUrl}"}
model_config: {codex-text: vendor, codex-tool: vendor}
`);
}, 320_000);
afterAll(async () => {
  await server?.close();
  await vendor?.close();
});

/** Runs `codex exec PROMPT` on `model` through the gateway; resolves with its last message. */
function codexRun(
  model: string,
  prompt: string,
): Promise<{ readonly last: string; readonly stderr: string }> {
  return codexExec({ gatewayUrl: server.url, model, prompt, apiKey: "codex-e2e-key", proxy: NOBODY_PROXY });
}

describe("Codex CLI through /v1/responses", () => {
  it("completes a text turn", async () => {
    const { last } = await codexRun("codex-text", "Say hello.");
    expect(last).toContain(TEXT_ANSWER);
    const request = vendor.requests.at(-1)?.body as { tools?: { function: { name: string } }[] };
    // Codex offered its own tools, which reached the vendor as functions.
    expect(request.tools?.map((tool) => tool.function.name)).toContain("exec_command");
  }, 100_000);

  it("completes a tool turn: Codex runs exec_command and the vendor gets the output with its own call id", async () => {
    const before = vendor.requests.length;
    const { last } = await codexRun("codex-tool", "Run the check.");
    expect(last).toContain(MARKER);
    const followUp = vendor.requests.slice(before).at(-1)?.body.messages as Record<string, unknown>[];
    const toolMessage = followUp.at(-1);
    expect(toolMessage).toMatchObject({ role: "tool", tool_call_id: TOOL_CALL_ID });
    expect(String(toolMessage?.content)).toContain(MARKER);
    expect(followUp.at(-2)).toMatchObject({ role: "assistant", tool_calls: [{ id: TOOL_CALL_ID }] });
  }, 100_000);
});
