/**
 * Issue 24 with the agent CLIs themselves, reasoning on, against the thinking mocks that refuse a tool loop's
 * second step as the vendors do (test/helpers/reasoning-gateway.ts): Codex CLI through /v1/responses (it asks for
 * `reasoning.encrypted_content` with `store: false` by itself) to Gemini 3 and to Anthropic, and Claude Code
 * through /v1/messages to Gemini 3. Each mock calls the first tool the CLI offers; the CLI runs it (the mock's
 * arguments do not fit it, so the CLI answers with its own error text, which is a tool result all the same) and
 * sends the second step, which the mock refuses unless its reasoning state came back. Both CLIs run offline from
 * their cache folders as in codex-cli.test.ts and claude-code.test.ts.
 */
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLAUDE_CODE, CODEX_CLI, ensureAgentCli } from "../helpers/agent-clis.ts";
import { claudeCodeEnv, codexExec, NOBODY_PROXY } from "../helpers/agent-runs.ts";
import { type ReasoningGateway, startReasoningGateway } from "../helpers/reasoning-gateway.ts";
import { THINKING_TEXT } from "../helpers/thinking-anthropic-mock.ts";

let gateway: ReasoningGateway;

beforeAll(async () => {
  await Promise.all([ensureAgentCli(CODEX_CLI), ensureAgentCli(CLAUDE_CODE)]);
  gateway = await startReasoningGateway();
}, 320_000);
afterAll(async () => {
  await gateway?.close();
});

/** Runs `codex exec PROMPT` on `model` with reasoning on; resolves with its last message. */
async function codexRun(model: string, prompt: string): Promise<string> {
  const options = { gatewayUrl: gateway.server.url, model, prompt, apiKey: "unused", proxy: NOBODY_PROXY };
  return (await codexExec({ ...options, reasoning: true })).last;
}

/** Runs `claude -p PROMPT` with every model name set to `model`; resolves with what it printed. */
function claudePrint(model: string, prompt: string): Promise<string> {
  const { home, env } = claudeCodeEnv({
    baseUrl: gateway.server.url,
    token: "unused",
    model,
    proxy: NOBODY_PROXY,
  });
  return new Promise((resolve, reject) => {
    execFile(
      CLAUDE_CODE.entry,
      ["-p", prompt],
      { cwd: home, env, timeout: 90_000 },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`claude -p failed: ${error.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

type Parts = { role: string; parts: Record<string, unknown>[] }[];

/** The Gemini mock's requests since `before` that answered a function call (the loops' second steps). */
function geminiSecondSteps(before: number): Parts[] {
  return gateway.gemini.requests
    .slice(before)
    .map((request) => request.body.contents as Parts)
    .filter((contents) => contents.some((content) => content.parts.some((part) => part.functionResponse)));
}

/** Every functionCall part sent back carries a signature the mock issued (not the skip sentinel). */
function expectOwnSignatures(steps: readonly Parts[]): void {
  expect(steps.length).toBeGreaterThan(0);
  for (const contents of steps) {
    const calls = contents.flatMap((content) => content.parts.filter((part) => part.functionCall));
    expect(calls.length).toBeGreaterThan(0);
    expect(gateway.gemini.signatures.has(String(calls[0]?.thoughtSignature))).toBe(true);
  }
}

describe("Codex CLI with reasoning on, through /v1/responses", () => {
  it("runs a tool loop on Gemini 3: the call's thoughtSignature comes back through encrypted_content", async () => {
    const before = gateway.gemini.requests.length;
    const last = await codexRun("gemini", "What is the weather in Paris?");
    expect(last).toContain("Tool results:");
    expectOwnSignatures(geminiSecondSteps(before));
  }, 100_000);

  it("runs a tool loop on Anthropic with thinking: its signed blocks come back before the tool_use", async () => {
    const before = gateway.anthropic.requests.length;
    const last = await codexRun("claude", "What is the weather in Paris?");
    expect(last).toContain("Tool results:");
    const second = gateway.anthropic.requests
      .slice(before)
      .map(
        (request) => request.body as { thinking?: unknown; messages: { role: string; content: unknown }[] },
      )
      .find((body) => JSON.stringify(body.messages).includes("tool_result"));
    expect(second?.thinking).toMatchObject({ type: "enabled" });
    const turn = second?.messages.findLast((message) => message.role === "assistant")?.content as {
      type: string;
      signature?: string;
    }[];
    expect(turn.map((block) => block.type)).toEqual(["thinking", "redacted_thinking", "tool_use"]);
    expect(gateway.anthropic.signatures.get(turn[0]?.signature ?? "")).toBe(THINKING_TEXT);
  }, 100_000);
});

describe("Claude Code with reasoning on, through /v1/messages", () => {
  it("runs a tool loop on Gemini 3: the call's thoughtSignature comes back through the thinking block", async () => {
    const before = gateway.gemini.requests.length;
    const printed = await claudePrint("gemini", "What is the weather in Paris?");
    expect(printed).toContain("Tool results:");
    expectOwnSignatures(geminiSecondSteps(before));
  }, 100_000);
});

describe("the CLIs' loops", () => {
  it("leave no reasoning state in the gateway's logs", () => {
    const logs = JSON.stringify(gateway.server.logs);
    expect(logs).not.toContain(THINKING_TEXT);
    expect(logs).not.toMatch(/r1-k1-[A-Za-z0-9_-]{20}/);
    expect(gateway.server.logs.filter((line) => line.reasoningCarrier === "ignored")).toHaveLength(0);
  });
});
