/**
 * Claude Code itself through the gateway: `claude -p` (print mode) with a temporary HOME, ANTHROPIC_BASE_URL at a
 * recording relay in front of the gateway, a gateway key in ANTHROPIC_AUTH_TOKEN, and every non-essential traffic
 * switch off (an HTTP(S) proxy that refuses everything catches whatever else it would try; loopback is exempt).
 * One turn routed to an OpenAI-compatible vendor, one to an Anthropic vendor, whose request must be the one Claude
 * Code sent, unchanged but for the model id. Claude Code is not a dependency of the project: its pinned version
 * lives in a cache folder outside the clone (test/helpers/agent-clis.ts); the test runs its native binary.
 */
import { execFile } from "node:child_process";
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLAUDE_CODE, ensureAgentCli } from "../helpers/agent-clis.ts";
import { claudeCodeEnv } from "../helpers/agent-runs.ts";
import {
  type LoopbackServer,
  type MockUpstream,
  parseJsonObject,
  startLoopbackServer,
  startMockUpstream,
} from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const BINARY = CLAUDE_CODE.entry;
const TOKEN = "sk-claude-code-e2e-0123456789";
const ANSWER = "Hello from the vendor mock.";

/** An OpenAI-compatible vendor that answers every request with one streamed text, whatever tools it offers. */
function textOnlyOpenAI(): Promise<MockUpstream> {
  return startMockUpstream("/v1", (_recorded, _request, response) => {
    response.writeHead(200, { "content-type": "text/event-stream" });
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id: "chatcmpl-cc", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    response.end(
      chunk({ role: "assistant", content: ANSWER }, null) +
        chunk({}, "stop") +
        `data: ${JSON.stringify({ id: "chatcmpl-cc", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 } })}\n\n` +
        "data: [DONE]\n\n",
    );
  });
}

/** An Anthropic vendor that answers every Messages request with one streamed text block. */
function textOnlyAnthropic(): Promise<MockUpstream> {
  return startMockUpstream("/v1", (_recorded, request, response) => {
    if (request.url?.startsWith("/v1/messages/count_tokens")) {
      response.writeHead(200, { "content-type": "application/json" });
      response.end('{"input_tokens":10}');
      return;
    }
    response.writeHead(200, { "content-type": "text/event-stream" });
    const event = (name: string, data: object) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    const usage = {
      input_tokens: 9,
      output_tokens: 5,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    };
    response.end(
      event("message_start", {
        type: "message_start",
        message: {
          id: "msg_cc",
          type: "message",
          role: "assistant",
          model: "m",
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage,
        },
      }) +
        event("content_block_start", {
          type: "content_block_start",
          index: 0,
          content_block: { type: "text", text: "" },
        }) +
        event("content_block_delta", {
          type: "content_block_delta",
          index: 0,
          delta: { type: "text_delta", text: ANSWER },
        }) +
        event("content_block_stop", { type: "content_block_stop", index: 0 }) +
        event("message_delta", {
          type: "message_delta",
          delta: { stop_reason: "end_turn", stop_sequence: null },
          usage,
        }) +
        event("message_stop", { type: "message_stop" }),
    );
  });
}

/** A relay in front of the gateway that records each request as Claude Code sent it. */
interface Recorded {
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: Record<string, unknown>;
}
async function recordingRelay(target: () => string, recorded: Recorded[]): Promise<LoopbackServer> {
  return startLoopbackServer((incoming: IncomingMessage, body: string, response: ServerResponse) => {
    if (incoming.method === "POST")
      recorded.push({ url: incoming.url ?? "", headers: incoming.headers, body: parseJsonObject(body) });
    const forward = httpRequest(
      `${target()}${incoming.url ?? ""}`,
      { method: incoming.method, headers: { ...incoming.headers, host: new URL(target()).host } },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forward.on("error", () => response.destroy());
    forward.end(body);
  });
}

let openaiMock: MockUpstream;
let anthropicMock: MockUpstream;
let server: RunningServer;
let relay: LoopbackServer;
let refusingProxy: LoopbackServer;
const sent: Recorded[] = [];

beforeAll(async () => {
  await ensureAgentCli(CLAUDE_CODE);
  [openaiMock, anthropicMock] = await Promise.all([textOnlyOpenAI(), textOnlyAnthropic()]);
  server = await startServer(
    `
model_config: {oa-model: oa-vendor, claude-model: claude-vendor}
model_routes:
  claude-vendor: {claude-model: claude-upstream-id}
providers:
  oa-vendor: {type: openai, base_url: "${openaiMock.baseUrl}"}
  claude-vendor: {type: anthropic, base_url: "${anthropicMock.baseUrl}", api_key_env: ANTHROPIC_KEY}
proxy: {max_retries: 0}
auth:
  keys:
    - {name: claude-code, key: ${TOKEN}}
`,
    { keys: { ANTHROPIC_KEY: "sk-ant-e2e" } },
  );
  relay = await recordingRelay(() => server.url, sent);
  refusingProxy = await startLoopbackServer((_request, _body, response) => {
    response.writeHead(403);
    response.end();
  });
}, 320_000);

afterAll(async () => {
  await relay?.close();
  await refusingProxy?.close();
  await server?.close();
  await Promise.all([openaiMock?.close(), anthropicMock?.close()]);
});

/** Runs `claude -p` with every model name set to `model`. */
function claudePrint(model: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { home, env } = claudeCodeEnv({
    baseUrl: relay.origin,
    token: TOKEN,
    model,
    proxy: refusingProxy.origin,
  });
  return new Promise((resolve) => {
    execFile(BINARY, ["-p", "Say hello."], { cwd: home, env, timeout: 90_000 }, (error, stdout, stderr) =>
      resolve({
        code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
        stdout,
        stderr,
      }),
    );
  });
}

describe("Claude Code in print mode through the gateway", () => {
  it("answers through an OpenAI-compatible vendor", async () => {
    const before = openaiMock.requests.length;
    const result = await claudePrint("oa-model");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(ANSWER);
    expect(openaiMock.requests.length).toBeGreaterThan(before);
  }, 120_000);

  it("answers through an Anthropic vendor that receives Claude Code's request unchanged but for the model id", async () => {
    const before = anthropicMock.requests.length;
    const relayedBefore = sent.length;
    const result = await claudePrint("claude-model");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(ANSWER);
    const fromClaude = sent.slice(relayedBefore).filter((request) => request.url.startsWith("/v1/messages?"));
    const atVendor = anthropicMock.requests.slice(before).filter((request) => request.url === "/v1/messages");
    expect(fromClaude.length).toBeGreaterThan(0);
    expect(atVendor).toHaveLength(fromClaude.length);
    for (const [index, request] of fromClaude.entries()) {
      expect(atVendor[index]?.body).toEqual({ ...request.body, model: "claude-upstream-id", stream: true });
      expect(atVendor[index]?.headers["anthropic-beta"]).toBe(request.headers["anthropic-beta"]);
    }
    expect(fromClaude[0]?.headers["anthropic-beta"]).toMatch(/claude-code-/);
    expect(JSON.stringify(atVendor[0]?.body)).toContain("cache_control");
  }, 120_000);
});
