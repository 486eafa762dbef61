/**
 * Every shell, TypeScript and Python block of README.md is either run here, as pasted, or listed in NOT_RUN with
 * the reason (a new block fails this test until it is one or the other). They run against a gateway started from
 * config/config.example.yaml (`node src/main.ts`, as `npm start` does), on a port from the OS instead of 9000:
 * that address is the only thing changed in a block. Blocks that use `$GATEWAY_ADMIN_KEY` (virtual keys) run
 * against a second gateway started with that admin key and its own store, with the variable set. Shell blocks run from docs/ (a folder of the clone other than
 * its root); TypeScript blocks from a project folder outside the clone that has the client packages and llm-proxy
 * itself installed (as `npm install /path/to/llm-proxy` links it), so paths relative to the clone's root fail.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killGatewayProcesses, startGatewayProcess, writeTempConfig } from "../helpers/gateway-process.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** Blocks that are not run, by the start of their first line, and why. */
const NOT_RUN: readonly (readonly [string, string])[] = [
  [
    "npm ci ",
    "installs and starts the gateway: .ci/run installs from a clean clone, and this test starts it",
  ],
  ["npm test ", "the test suite itself; .ci/run runs it"],
  [
    "from openai import OpenAI",
    "the Python openai package is not packaged by Debian (pip needs the network)",
  ],
  [
    'cd "$(npm prefix)"',
    "buf's remote plugins need the network; test/examples/buf-templates.test.ts runs them offline",
  ],
  ["sudo apt-get install", "installs Debian packages as root; .ci/run installs them when missing"],
  ["grpcurl ", "grpcurl is not packaged by Debian; the buf curl blocks make the same calls"],
  ["docker build", "no container engine in CI; test/docker/dockerfile.test.ts runs the image's CMD"],
  [
    "docker compose ",
    "no container engine in CI; test/deploy/compose.test.ts checks the file and test/deploy/nginx-compose.test.ts runs its nginx",
  ],
  [
    "kubectl apply ",
    "no cluster in CI; test/deploy/kubernetes.test.ts validates the manifests against the Kubernetes schemas",
  ],
  [
    "export ANTHROPIC_BASE_URL=",
    "Claude Code is not a dependency (nor in Debian); test/messages/claude-code-replay.test.ts replays its requests",
  ],
  [
    "LLM_PROXY_KEY=my-gateway-key codex exec",
    "Codex CLI is not a dependency (nor in Debian); test/e2e/codex-cli.test.ts installs it in a cache folder and runs it",
  ],
];

/** What the output of a run block must show, by the start of its first line (default: the echoed greeting). */
const EXPECTED: readonly (readonly [string, RegExp])[] = [
  ["npx buf curl --list-methods", /llmproxy\.v1\.ChatService\/StreamChatCompletion/],
  [
    "curl http://127.0.0.1:9000/v1/embeddings",
    /^\{"object":"list","data":\[\{"object":"embedding","index":0,"embedding":\[(-?[\d.e-]+,){3}-?[\d.e-]+\]\}.*"model":"echo-embed"[\s\S]*"promptTokens": 2/,
  ],
  ["out=$(mktemp -d)", /unary: Hello from Python\nstream: Hello from Python\nerror: NOT_FOUND/],
  // Virtual keys: the key as changed, then as revoked; the usage report.
  ["id=$(curl -s http://127.0.0.1:9000/admin/keys", /"budget_period":"daily"[\s\S]*"revoked":true/],
  ['curl -s "http://127.0.0.1:9000/admin/usage', /^\{"data":\[/],
  // echo-1 at $0.15 and $0.60 per million: 2 input and 2 output tokens.
  [
    "curl -si http://127.0.0.1:9000/v1/chat/completions",
    /^x-llm-proxy-cost-usd: 0\.0000015\r?\n[\s\S]*Hello there/im,
  ],
];

const RUN_LANGUAGES = new Set(["bash", "sh", "ts", "python"]);

interface Block {
  readonly language: string;
  readonly code: string;
  readonly line: number;
}

function readmeBlocks(): Block[] {
  const blocks: Block[] = [];
  const lines = README.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const open = /^```(\w*)\s*$/.exec(lines[index] ?? "");
    if (open === null) continue;
    const start = index;
    const body: string[] = [];
    for (index++; index < lines.length && !(lines[index] ?? "").startsWith("```"); index++)
      body.push(lines[index] ?? "");
    blocks.push({ language: open[1] ?? "", code: body.join("\n"), line: start + 1 });
  }
  return blocks.filter((block) => RUN_LANGUAGES.has(block.language));
}

function startsWithAny<T>(code: string, table: readonly (readonly [string, T])[]): T | undefined {
  const first = code.trimStart().split("\n")[0] ?? "";
  return table.find(([prefix]) => first.startsWith(prefix))?.[1];
}

let port: number;
let project: string;
/**
 * The gateway of the `$GATEWAY_ADMIN_KEY` blocks: the example config has no admin key, and a virtual key made on its
 * gateway would make its API require a key for every later block.
 */
let governedPort: number;
const GATEWAY_ADMIN_KEY = "readme-admin-key-0123456789";

/** A project outside the clone with the client packages and llm-proxy installed (symlinks, as npm links them). */
function clientProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "llm-proxy-readme-"));
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "my-service", private: true, type: "module" }),
  );
  const packages = [
    "openai",
    "@anthropic-ai/sdk",
    "@grpc/grpc-js",
    "@grpc/proto-loader",
    "@connectrpc/connect",
    "@connectrpc/connect-node",
    "@bufbuild/protobuf",
  ];
  for (const name of packages) {
    mkdirSync(dirname(join(dir, "node_modules", name)), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", name), join(dir, "node_modules", name));
  }
  symlinkSync(ROOT, join(dir, "node_modules", "llm-proxy"));
  return dir;
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: 20_000, encoding: "utf8" }, (error, stdout, stderr) => {
      resolve({
        code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
        stdout,
        stderr,
      });
    });
  });
}

beforeAll(async () => {
  // The example's content from a temporary folder: its store (data/llm-proxy.db beside the config) stays out of the clone.
  const example = readFileSync(join(ROOT, "config/config.example.yaml"), "utf8");
  const gateway = await startGatewayProcess(["--config", writeTempConfig(example)]);
  port = gateway.port;
  const governed = await startGatewayProcess(
    [
      "--config",
      writeTempConfig(
        "model_config: {echo-1: echo}\nauth: {admin_keys: [{name: ops, key_env: GATEWAY_ADMIN_KEY}]}\n",
      ),
    ],
    { env: { ...process.env, GATEWAY_ADMIN_KEY } },
  );
  governedPort = governed.port;
  project = clientProject();
});
afterAll(() => killGatewayProcesses());

describe("README snippets", () => {
  const blocks = readmeBlocks();

  it("every shell, TypeScript and Python block is run here or listed with a reason", () => {
    expect(blocks.length).toBeGreaterThan(8);
    const toRun = blocks.filter((block) => startsWithAny(block.code, NOT_RUN) === undefined);
    for (const block of toRun) {
      expect(
        ["bash", "ts"],
        `README.md:${block.line} (${block.language}) is neither run nor listed`,
      ).toContain(block.language);
    }
    for (const [prefix] of NOT_RUN) {
      expect(
        blocks.some((block) => startsWithAny(block.code, [[prefix, true]])),
        `NOT_RUN entry '${prefix}' matches no block`,
      ).toBe(true);
    }
  });

  for (const block of blocks.filter((candidate) => startsWithAny(candidate.code, NOT_RUN) === undefined)) {
    const title = `README.md:${block.line} (${block.language}): ${block.code.trimStart().split("\n")[0]}`;
    it(title, async () => {
      const governed = block.code.includes("$GATEWAY_ADMIN_KEY");
      const code = block.code.replaceAll("127.0.0.1:9000", `127.0.0.1:${governed ? governedPort : port}`);
      const env = governed ? { ...process.env, GATEWAY_ADMIN_KEY } : undefined;
      const result =
        block.language === "ts"
          ? await runTypeScript(code, block.line)
          : await run("bash", ["-euo", "pipefail", "-c", code], join(ROOT, "docs"), env);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(startsWithAny(block.code, EXPECTED) ?? /\bHello\b|\bHi\b/);
      expect(result.stdout).not.toMatch(/"error"/);
    });
  }
});

async function runTypeScript(
  code: string,
  line: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(project, `readme-${line}.ts`);
  writeFileSync(file, code);
  return run(process.execPath, [file], project);
}
