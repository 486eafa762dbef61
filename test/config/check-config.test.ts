/**
 * The process entry's config checks: `--check-config` applies the reload rules (exit 0 with a one-line summary,
 * or 1 with every problem by YAML path, a routed provider without its key included) without serving; a normal
 * start stays lenient about vendor keys (a warning) but refuses a broken auth section.
 */
import { afterEach, describe, expect, it } from "vitest";
import { checkConfigFile } from "../../src/startup.ts";
import {
  killGatewayProcesses,
  runGatewayToExit,
  spawnGateway,
  waitForGateway,
  writeTempConfig,
} from "../helpers/gateway-process.ts";

afterEach(killGatewayProcesses);

/** This process's environment without the key variables these tests need unset. */
const envWithoutKeys: NodeJS.ProcessEnv = { ...process.env };
delete envWithoutKeys.OPENAI_API_KEY;
delete envWithoutKeys.CHECK_CONFIG_KEY;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runGatewayToExit(args, { env: envWithoutKeys });
}

describe("--check-config", () => {
  it("accepts the example config with a one-line summary", async () => {
    const result = await run(["--check-config", "--config", "config/config.example.yaml"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      "config/config.example.yaml: OK (3 models, 2 providers, 0 client keys, 0 admin keys)\n",
    );
  });

  it("lists every problem by YAML path and exits 1", async () => {
    const path = writeTempConfig("model_config: {gpt: openai, m2: nosuch}\nserver: {port: nine}\n");
    const result = await run(["--check-config", "--config", path]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/server\.port: /);
    expect(result.stdout).toBe("");
  });

  it("refuses a routed provider whose key variable is unset, and accepts it once os_env sets it", async () => {
    // The rules themselves, in process (the command line around them is covered above).
    const missing = await checkConfigFile(writeTempConfig("model_config: {gpt: openai}\n"), {});
    expect(missing.ok).toBe(false);
    expect(missing.text).toMatch(
      /model_config\.gpt: provider 'openai' has no API key: OPENAI_API_KEY is not set/,
    );
    const fromOsEnv = await checkConfigFile(
      writeTempConfig("os_env: {OPENAI_API_KEY: sk-x}\nmodel_config: {gpt: openai}\n"),
      {},
    );
    expect(fromOsEnv).toMatchObject({ ok: true, text: expect.stringMatching(/OK \(1 models, 1 providers/) });
    const fromEnvironment = await checkConfigFile(writeTempConfig("model_config: {gpt: openai}\n"), {
      OPENAI_API_KEY: "sk-env",
    });
    expect(fromEnvironment.ok).toBe(true);
  });
});

describe("startup", () => {
  it("starts with a routed provider whose key is unset (a warning); a SIGHUP reload refuses the same file", async () => {
    const path = writeTempConfig(
      "model_config: {gpt: openai, echo-1: echo}\nserver: {watch_config: false}\n",
    );
    const gateway = spawnGateway(["--config", path, "--host", "127.0.0.1", "--port", "0"], {
      env: envWithoutKeys,
    });
    await waitForGateway(gateway, () => gateway.stdout().includes("llm-proxy ready"), "llm-proxy ready");
    gateway.child.kill("SIGHUP");
    await waitForGateway(gateway, () => gateway.stdout().includes("config reload"), "a config reload line");
    gateway.child.kill("SIGTERM");
    expect((await gateway.exited).code).toBe(0);
    const stdout = gateway.stdout();
    expect(stdout).toMatch(/provider has no API key/);
    expect(stdout).toMatch(/llm-proxy ready/);
    const rejected = stdout.split("\n").find((line) => line.includes("config reload rejected")) ?? "";
    expect(JSON.parse(rejected)).toMatchObject({
      reload: { trigger: "signal", issues: [{ path: "model_config.gpt" }] },
    });
  });

  it("refuses an auth section whose key variable is unset, naming the YAML path", async () => {
    const path = writeTempConfig(
      "model_config: {echo-1: echo}\nauth: {keys: [{name: a, key_env: CHECK_CONFIG_KEY}]}\n",
    );
    const result = await run(["--config", path, "--host", "127.0.0.1", "--port", "0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/auth\.keys\.0\.key_env: variable CHECK_CONFIG_KEY is not set/);
  });
});
