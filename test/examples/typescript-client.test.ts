/**
 * The documented TypeScript client example (examples/typescript-client/chat.ts) run as its README says, as a
 * separate Node process, against a real gateway: models, a unary call with a request id, a stream with usage,
 * and a mapped error.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ECHO_CONFIG } from "../helpers/build-app.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

let server: RunningServer;

beforeAll(async () => {
  server = await startServer(ECHO_CONFIG);
});
afterAll(async () => {
  await server.close();
});

function runExample(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["examples/typescript-client/chat.ts", ...args],
      { cwd: PROJECT_ROOT, timeout: 20_000, env: { ...process.env, LLM_PROXY_API_KEY: "", ...env } },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : -1,
          stdout,
          stderr,
        });
      },
    );
  });
}

describe("examples/typescript-client", () => {
  it("lists models, calls, streams and reports a gateway error over gRPC", async () => {
    const { code, stdout, stderr } = await runExample([server.url]);
    expect(code, stderr).toBe(0);
    expect(stdout.trim().split("\n")).toEqual([
      "models: echo-1, echo-slow",
      "request id: example-unary-1",
      "unary: Hello from TypeScript (finish_reason stop)",
      "usage: 6 tokens",
      "stream usage: 8 tokens",
      "stream: Stream these words back",
      "error: NotFound: The model 'no-such-model' does not exist on this gateway.",
    ]);
    // The request id it sent is the one on the gateway's log lines for that call.
    expect(server.logs.some((line) => line.requestId === "example-unary-1")).toBe(true);
  });

  it("uses the model given on the command line", async () => {
    const { code, stdout, stderr } = await runExample([server.url, "echo-slow"]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("stream: Stream these words back");
  });

  it("sends LLM_PROXY_API_KEY to a gateway that requires client keys", async () => {
    const key = "example-client-key-0123";
    const secured = await startServer(`${ECHO_CONFIG}\nauth: {keys: [{name: example, key: ${key}}]}\n`);
    try {
      const refused = await runExample([secured.url]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/unauthenticated/i);
      const { code, stdout, stderr } = await runExample([secured.url], { LLM_PROXY_API_KEY: key });
      expect(code, stderr).toBe(0);
      expect(stdout).toContain("unary: Hello from TypeScript (finish_reason stop)");
    } finally {
      await secured.close();
    }
  });

  it("exits non-zero with the error when the gateway is unreachable", async () => {
    const { code, stderr } = await runExample(["http://127.0.0.1:1"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/ConnectError|ECONNREFUSED|unavailable/i);
  });
});
