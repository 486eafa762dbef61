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
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLAUDE_CODE, CODEX_CLI, ensureAgentCli } from "../helpers/agent-clis.ts";
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

/** What keeps a CLI on loopback: an HTTP(S) proxy nobody listens on, loopback exempt. */
const OFFLINE = {
  HTTP_PROXY: "http://127.0.0.1:9",
  HTTPS_PROXY: "http://127.0.0.1:9",
  NO_PROXY: "127.0.0.1,localhost",
};

/** Runs `codex exec PROMPT` on `model` with reasoning on and a fresh CODEX_HOME; resolves with its last message. */
function codexExec(model: string, prompt: string): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), "codex-reasoning-"));
  const work = join(home, "work");
  mkdirSync(work);
  writeFileSync(
    join(home, "config.toml"),
    `model = "${model}"
model_provider = "llm-proxy"
model_reasoning_effort = "medium"
model_reasoning_summary = "auto"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false

[model_providers.llm-proxy]
name = "llm-proxy"
base_url = "${gateway.server.url}/v1"
wire_api = "responses"
env_key = "LLM_PROXY_KEY"

[analytics]
enabled = false

[feedback]
enabled = false

[otel]
exporter = "none"
trace_exporter = "none"

[features]
plugins = false
apps = false
`,
  );
  const out = join(home, "last.txt");
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: home,
    CODEX_HOME: home,
    LLM_PROXY_KEY: "unused",
    ...OFFLINE,
  };
  const args = [CODEX_CLI.entry, "exec", "--strict-config", "--skip-git-repo-check", "--color", "never"];
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [...args, "-C", work, "-o", out, prompt],
      { env, timeout: 90_000 },
      (error, _stdout, stderr) => {
        if (error !== null) reject(new Error(`codex exec failed: ${error.message}\n${stderr}`));
        else resolve(readFileSync(out, "utf8"));
      },
    );
    // `codex exec` reads more prompt from a piped stdin until it ends.
    child.stdin?.end();
  });
}

/** Runs `claude -p PROMPT` with every model name set to `model`; resolves with what it printed. */
function claudePrint(model: string, prompt: string): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), "claude-reasoning-"));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    ANTHROPIC_BASE_URL: gateway.server.url,
    ANTHROPIC_AUTH_TOKEN: "unused",
    ANTHROPIC_MODEL: model,
    ANTHROPIC_DEFAULT_SONNET_MODEL: model,
    ANTHROPIC_DEFAULT_OPUS_MODEL: model,
    ANTHROPIC_DEFAULT_HAIKU_MODEL: model,
    ANTHROPIC_SMALL_FAST_MODEL: model,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_ERROR_REPORTING: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_BUG_COMMAND: "1",
    ...OFFLINE,
  };
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
    const last = await codexExec("gemini", "What is the weather in Paris?");
    expect(last).toContain("Tool results:");
    expectOwnSignatures(geminiSecondSteps(before));
  }, 100_000);

  it("runs a tool loop on Anthropic with thinking: its signed blocks come back before the tool_use", async () => {
    const before = gateway.anthropic.requests.length;
    const last = await codexExec("claude", "What is the weather in Paris?");
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
