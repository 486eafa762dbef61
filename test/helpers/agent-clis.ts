/**
 * The agent CLIs the e2e tests drive (Codex CLI, Claude Code): pinned versions, where they live, and their install.
 * They are hundreds of MB with their native binaries, so they are never package dependencies: `npm ci` stays small,
 * and they go into cache folders outside the clone (CODEX_CLI_CACHE, CLAUDE_CODE_CACHE; default in the OS temp dir)
 * that survive between runs. `.ci/run` installs them before `npm test` (test/install-agent-clis.ts); a test run
 * without that step installs them on first use through the same function.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One CLI: its npm package at a pinned version, its cache folder and the file that proves it is installed. */
export interface AgentCli {
  readonly name: string;
  readonly packageSpec: string;
  readonly cache: string;
  /** The file the test runs (a JS entry or a native binary). */
  readonly entry: string;
}

const codexCache = process.env.CODEX_CLI_CACHE ?? join(tmpdir(), "llm-proxy-codex");
const claudeCache = process.env.CLAUDE_CODE_CACHE ?? join(tmpdir(), "llm-proxy-claude-code");

export const CODEX_CLI: AgentCli = {
  name: "Codex CLI",
  packageSpec: "@openai/codex@0.169.0",
  cache: codexCache,
  entry: join(codexCache, "node_modules", "@openai", "codex", "bin", "codex.js"),
};

export const CLAUDE_CODE: AgentCli = {
  name: "Claude Code",
  packageSpec: "@anthropic-ai/claude-code@2.1.197",
  cache: claudeCache,
  entry: join(claudeCache, "node_modules", "@anthropic-ai", "claude-code-linux-x64", "claude"),
};

export const AGENT_CLIS: readonly AgentCli[] = [CODEX_CLI, CLAUDE_CODE];

/** Installs the CLI into its cache folder unless its entry is already there. */
export function ensureAgentCli(cli: AgentCli): Promise<void> {
  if (existsSync(cli.entry)) return Promise.resolve();
  mkdirSync(cli.cache, { recursive: true });
  const args = ["install", "--prefix", cli.cache, "--no-save", "--no-audit", "--no-fund", cli.packageSpec];
  return new Promise((resolve, reject) => {
    execFile("npm", args, { timeout: 300_000 }, (error, _stdout, stderr) => {
      if (error !== null) reject(new Error(`npm install ${cli.packageSpec} failed: ${stderr}`));
      else if (!existsSync(cli.entry)) reject(new Error(`${cli.name} installed without ${cli.entry}`));
      else resolve();
    });
  });
}
