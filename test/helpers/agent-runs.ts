/**
 * One run of an agent CLI (test/helpers/agent-clis.ts) against the gateway, kept on loopback: `codex exec` with a
 * fresh CODEX_HOME, and the environment of `claude -p` with a fresh HOME. The proxy given is an HTTP(S) proxy
 * that refuses or drops everything, loopback exempt, so anything the CLI would send elsewhere never leaves.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CODEX_CLI } from "./agent-clis.ts";

/** An HTTP(S) proxy nobody listens on. */
export const NOBODY_PROXY = "http://127.0.0.1:9";

/** The proxy variables: everything through `proxy` but loopback. */
function proxyEnv(proxy: string): Record<string, string> {
  return { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, NO_PROXY: "127.0.0.1,localhost" };
}

export interface CodexExecOptions {
  /** The gateway's origin; Codex talks to its /v1/responses. */
  readonly gatewayUrl: string;
  readonly model: string;
  readonly prompt: string;
  /** What Codex sends as its bearer token. */
  readonly apiKey: string;
  readonly proxy: string;
  /** Reasoning on (effort medium, summary auto), as a user of a thinking model sets it. */
  readonly reasoning?: boolean;
}

/**
 * Runs `codex exec PROMPT` with a config.toml that is the README's snippet plus what keeps Codex on loopback
 * (approval never, a read-only sandbox, analytics, feedback, update checks, plugins and apps off); resolves with
 * its last message and what it printed on stderr.
 */
export function codexExec(
  options: CodexExecOptions,
): Promise<{ readonly last: string; readonly stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), "codex-run-"));
  const work = join(home, "work");
  mkdirSync(work);
  const reasoning =
    options.reasoning === true ? 'model_reasoning_effort = "medium"\nmodel_reasoning_summary = "auto"\n' : "";
  writeFileSync(
    join(home, "config.toml"),
    `model = "${options.model}"
model_provider = "llm-proxy"
${reasoning}approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false

[model_providers.llm-proxy]
name = "llm-proxy"
base_url = "${options.gatewayUrl}/v1"
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
    LLM_PROXY_KEY: options.apiKey,
    ...proxyEnv(options.proxy),
  };
  const args = [CODEX_CLI.entry, "exec", "--strict-config", "--skip-git-repo-check", "--color", "never"];
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [...args, "-C", work, "-o", out, options.prompt],
      { env, timeout: 90_000 },
      (error, _stdout, stderr) => {
        if (error !== null) reject(new Error(`codex exec failed: ${error.message}\n${stderr}`));
        else resolve({ last: readFileSync(out, "utf8"), stderr });
      },
    );
    // `codex exec` reads more prompt from a piped stdin until it ends.
    child.stdin?.end();
  });
}

/**
 * The environment of `claude -p` against `baseUrl` with every model name set to `model`, nonessential traffic,
 * telemetry, error reports and updates off, and a fresh HOME (also returned, as the working directory to use).
 */
export function claudeCodeEnv(options: {
  readonly baseUrl: string;
  readonly token: string;
  readonly model: string;
  readonly proxy: string;
}): { readonly home: string; readonly env: Record<string, string> } {
  const home = mkdtempSync(join(tmpdir(), "claude-run-"));
  const { model } = options;
  return {
    home,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      ANTHROPIC_BASE_URL: options.baseUrl,
      ANTHROPIC_AUTH_TOKEN: options.token,
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
      ...proxyEnv(options.proxy),
    },
  };
}
