/**
 * The README's tool-call example ("### Tool calls"), run as pasted (only the gateway's port changed) as a
 * separate Node process from a project outside the clone, against a gateway built from
 * config/config.example.yaml: its output is the transcript the README shows, so the example, the text around it
 * and what echo does with tools stay in step. test/docs/readme-snippets.test.ts runs the block too; this test
 * also holds its output to the one documented.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The code blocks of the README section that starts with `heading`, by language. */
function sectionBlocks(heading: string): { ts: string; text: string } {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no '${heading}' section`);
  const section = readme.slice(start + 1).split(/\n#{1,3} /)[0] ?? "";
  const block = (language: string): string => {
    const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(section);
    if (match?.[1] === undefined) throw new Error(`no ${language} block under '${heading}'`);
    return match[1];
  };
  return { ts: block("ts"), text: block("text") };
}

let server: RunningServer;
let project: string;

beforeAll(async () => {
  server = await startServer(readFileSync(join(ROOT, "config/config.example.yaml"), "utf8"));
  project = mkdtempSync(join(tmpdir(), "llm-proxy-tools-"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ private: true, type: "module" }));
  mkdirSync(join(project, "node_modules"));
  symlinkSync(join(ROOT, "node_modules", "openai"), join(project, "node_modules", "openai"));
});
afterAll(async () => {
  await server.close();
  rmSync(project, { recursive: true, force: true });
});

describe("README: Tool calls", () => {
  it("runs as pasted against the example config and prints the transcript the README shows", async () => {
    const { ts, text } = sectionBlocks("### Tool calls");
    const file = join(project, "tools.ts");
    writeFileSync(file, ts.replaceAll("127.0.0.1:9000", `127.0.0.1:${server.port}`));
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [file], { cwd: project, timeout: 20_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr });
      });
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(text);
    // Two calls reached the echo model: the streamed tool call, then the answer to its result.
    const calls = server.logs.filter((line) => line.msg === "request completed" && line.model === "echo-1");
    expect(calls.map((line) => [line.stream, line.finishReasons])).toEqual([
      [true, ["tool_calls"]],
      [false, ["stop"]],
    ]);
  });
});
