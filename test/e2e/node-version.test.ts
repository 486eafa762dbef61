/**
 * Node versions told straight (README, Quickstart): `npm ci` on the machine's older Node prints no engine warnings
 * (the dependencies' engines describe the Node 24 it installs; package.json's devEngines says what npm ci itself
 * needs), and the gateway started on a Node older than `engines.node` says what to run instead of failing on a
 * .ts file.
 */
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  engines: { node: string };
  devEngines: { runtime: { name: string; version: string; onFail: string } };
};

/** PATH without this project's node_modules/.bin, as a shell outside npm has it. */
const MACHINE_PATH = (process.env.PATH ?? "")
  .split(delimiter)
  .filter((entry) => !entry.includes("node_modules"))
  .join(delimiter);

function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 120_000, encoding: "utf8", ...options }, (error, stdout, stderr) => {
      resolve({
        code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
        stdout,
        stderr,
      });
    });
  });
}

describe("Node versions", () => {
  it("the gateway started on a Node older than engines.node says what to run and exits 1", async () => {
    const fakeOld = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.20.2"})';
    const result = await run(process.execPath, ["--import", fakeOld, "bin/llm-proxy.mjs", "--version"], {
      cwd: ROOT,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`llm-proxy: needs Node.js ${PACKAGE.engines.node}`);
    expect(result.stderr).toContain("npm start");
    expect(result.stderr).toContain("node_modules/.bin/node bin/llm-proxy.mjs");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("on the project's own Node the same entry starts", async () => {
    const result = await run(process.execPath, ["bin/llm-proxy.mjs", "--version"], { cwd: ROOT });
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("npm ci on the machine's Node prints no engine warnings and installs nothing that needs a newer one", async () => {
    expect(PACKAGE.devEngines.runtime).toMatchObject({ name: "node", onFail: "error" });
    const npm = MACHINE_PATH.split(delimiter)
      .map((entry) => join(entry, "npm"))
      .find((candidate) => existsSync(candidate));
    expect(npm, "npm on the machine's PATH").toBeDefined();
    const scratch = mkdtempSync(join(tmpdir(), "llm-proxy-npm-ci-"));
    for (const file of ["package.json", "package-lock.json", ".npmrc"]) {
      copyFileSync(join(ROOT, file), join(scratch, file));
    }
    const env = { ...process.env, PATH: MACHINE_PATH };
    const node = await run("node", ["--version"], { env });
    const result = await run(npm ?? "npm", ["ci", "--dry-run", "--offline", "--no-audit", "--no-fund"], {
      cwd: scratch,
      env,
    });
    expect(result.code, `${node.stdout}${result.stderr}`).toBe(0);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/EBADENGINE|EBADDEVENGINES|npm warn/i);
  });
});
