import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.ts";
import { exportOsEnv } from "../../src/config/env.ts";
import { loadConfig, parseConfig } from "../../src/config/load.ts";
import { applyOverrides } from "../../src/config/overrides.ts";

/** The config from the users' Python proxy README, verbatim in structure. */
const USERS_FILE = `
os_env:
  VOLCENGINE_API_KEY: "your-volcengine-key"
  OPENAI_API_KEY: "your-openai-key"
  ANTHROPIC_API_KEY: "your-anthropic-key"
model_config:
  "deepseek-v3-0324": volcengine
  "gpt-4o-mini": openai
  "claude-3-sonnet": anthropic
  "gpt-3.5-turbo": volcengine
  "gpt-4": openai
model_routes:
  volcengine:
    "deepseek-v3-0324": "deepseek-v3-250324"
    "gpt-3.5-turbo": "deepseek-v3-250324"
  openai:
    "gpt-4o-mini": "gpt-4o-mini"
    "gpt-4": "gpt-4"
  anthropic:
    "claude-3-sonnet": "claude-3-sonnet-20240229"
server:
  host: "0.0.0.0"
  port: 9000
  log_level: "info"
  workers: 4
proxy:
  timeout: 30
  max_retries: 3
  default_model: "deepseek-v3-0324"
connector:
  limit: 100
  limit_per_host: 30
`;

function issuesOf(text: string): { path: string; message: string }[] {
  try {
    parseConfig(text, "test.yaml");
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("loads the users' existing Python-proxy file unchanged", () => {
    const config = parseConfig(USERS_FILE, "users.yaml");
    expect(config.routes).toContainEqual({
      publicModel: "deepseek-v3-0324",
      deployments: [{ provider: "volcengine", upstreamModel: "deepseek-v3-250324", weight: 1 }],
      fallbacks: [],
      contextWindowFallbacks: [],
    });
    expect(config.providers.get("volcengine")).toMatchObject({
      type: "openai",
      baseUrl: "https://ark.cn-beijing.volces.com/api/v3",
      apiKeyEnv: "VOLCENGINE_API_KEY",
    });
    expect(config.providers.get("anthropic")?.type).toBe("anthropic");
    expect(config.proxy).toMatchObject({
      timeoutMs: 30_000,
      maxRetries: 3,
      defaultModel: "deepseek-v3-0324",
    });
    expect(config.proxy.firstTokenTimeoutMs).toBe(30_000);
    expect(config.server.workers).toBe(4);
    expect(config.server.heapGrowingPercent).toBe(0);
    expect(config.connector).toEqual({ limit: 100, limitPerHost: 30 });
  });

  it("loads the example config, which needs no keys", async () => {
    const config = await loadConfig("config/config.example.yaml");
    expect(config.providers.get("echo")?.type).toBe("echo");
    expect(config.proxy.defaultModel).toBe("echo-1");
    expect(config.routes.map((route) => route.publicModel)).toContain("echo-1");
  });

  it("lets a provider block override a preset's fields", () => {
    const config = parseConfig(
      `model_config: {m: deepseek}\nproviders:\n  deepseek: {base_url: "http://127.0.0.1:1/v1/", headers: {x-a: b}}\n`,
      "t",
    );
    expect(config.providers.get("deepseek")).toMatchObject({
      type: "openai",
      baseUrl: "http://127.0.0.1:1/v1",
      apiKeyEnv: "DEEPSEEK_API_KEY",
      quirks: ["deepseek"],
      headers: { "x-a": "b" },
    });
  });

  it("names the YAML path of every schema problem", () => {
    const issues = issuesOf(
      `server: {port: "x", colour: red}\nproviders: {p: {type: openai, base_url: 3}}\n`,
    );
    const paths = issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(["server.port", "server", "providers.p.base_url"]));
    expect(issues.find((issue) => issue.path === "server")?.message).toMatch(/colour/);
  });

  it("takes heap_growing_percent from 0 (V8's own factor) to 300, whole numbers only", () => {
    expect(
      parseConfig("model_config: {echo-1: echo}\nserver: {heap_growing_percent: 20}\n", "inline").server
        .heapGrowingPercent,
    ).toBe(20);
    for (const bad of ["-1", "301", "12.5"]) {
      expect(issuesOf(`server: {heap_growing_percent: ${bad}}\n`).map((issue) => issue.path)).toEqual([
        "server.heap_growing_percent",
      ]);
    }
  });

  it("rejects unknown providers, bad URLs and a default model with no route", () => {
    const issues = issuesOf(
      `model_config: {a: nowhere, b: custom}\nproviders: {custom: {type: openai, base_url: "not a url"}}\nproxy: {default_model: zzz}\n`,
    );
    expect(issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining([
        "model_config (provider 'nowhere')",
        "providers.custom.base_url",
        "proxy.default_model",
      ]),
    );
  });

  it("reports YAML syntax errors and unreadable files", async () => {
    expect(issuesOf("model_config: {a: [\n")[0]?.message).toMatch(/YAML syntax/);
    await expect(loadConfig("/nonexistent/config.yaml")).rejects.toThrow(/cannot read the file \(ENOENT\)/);
  });

  it("refuses an empty file and a file with no model nor provider, saying what is wrong", () => {
    for (const empty of ["", "\n\n", "# only a comment\n"]) {
      expect(issuesOf(empty)).toEqual([{ path: "", message: "the file is empty (no YAML content)" }]);
    }
    for (const modelless of ["server: {port: 9000}\n", "model_config: {}\nproviders: {}\n"]) {
      const issues = issuesOf(modelless);
      expect(issues.map((issue) => issue.path)).toEqual(["model_config"]);
      expect(issues[0]?.message).toMatch(/^no models: .*cut short/);
    }
    // Providers alone serve `provider/model` names: that file has models.
    expect(parseConfig("providers: {p: {type: echo}}\n", "t").providers.has("p")).toBe(true);
  });

  it("takes auth.open: true without client keys (admin keys allowed), and refuses it beside client keys", () => {
    const models = "model_config: {echo-1: echo}\n";
    expect(parseConfig(`${models}auth: {open: true}`, "t").file.auth.open).toBe(true);
    const admin = `${models}auth: {open: true, admin_keys: [{name: ops, key: admin-key-0123456789}]}`;
    expect(parseConfig(admin, "t").file.auth.admin_keys).toHaveLength(1);
    const issues = issuesOf(`${models}auth: {open: true, keys: [{name: a, key: client-key-0123456789}]}`);
    expect(issues.map((issue) => issue.path)).toEqual(["auth.open"]);
    expect(issues[0]?.message).toMatch(/auth\.keys lists some/);
  });

  it("reads weighted deployments, fallbacks and timeouts, keeping the one-provider form valid", () => {
    const config = parseConfig(
      `
model_config:
  big: openai
  fast: [openai, {provider: deepseek, model: deepseek-chat, weight: 3}]
  spare: deepseek
model_routes: {openai: {fast: gpt-4o-mini}}
fallbacks: {fast: [spare]}
context_window_fallbacks: {fast: [big]}
proxy: {timeout: 60, first_token_timeout: 5, stream_idle_timeout: 7, connect_timeout: 2, max_retry_wait: 3, cooldown: {failures: 2, seconds: 9}}
`,
      "t",
    );
    expect(config.routes.find((route) => route.publicModel === "fast")).toEqual({
      publicModel: "fast",
      deployments: [
        { provider: "openai", upstreamModel: "gpt-4o-mini", weight: 1 },
        { provider: "deepseek", upstreamModel: "deepseek-chat", weight: 3 },
      ],
      fallbacks: ["spare"],
      contextWindowFallbacks: ["big"],
    });
    expect(config.proxy).toMatchObject({
      timeoutMs: 60_000,
      firstTokenTimeoutMs: 5_000,
      streamIdleTimeoutMs: 7_000,
      connectTimeoutMs: 2_000,
      maxRetryWaitMs: 3_000,
      cooldown: { failures: 2, durationMs: 9_000 },
    });
  });

  it("rejects fallbacks to unknown models or to the model itself", () => {
    const issues = issuesOf(`model_config: {a: echo, b: echo}\nfallbacks: {a: [a, zzz], c: [b]}\n`);
    expect(issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(["fallbacks.a.0", "fallbacks.a.1", "fallbacks.c"]),
    );
  });

  it("exports os_env without overriding the environment", () => {
    const config = parseConfig(
      `model_config: {echo-1: echo}\nos_env: {A_KEY: "from-file", B_KEY: "from-file", N: 3}\n`,
      "t",
    );
    const env: NodeJS.ProcessEnv = { A_KEY: "from-env" };
    expect(exportOsEnv(config.file, env).sort()).toEqual(["B_KEY", "N"]);
    expect(env).toEqual({ A_KEY: "from-env", B_KEY: "from-file", N: "3" });
  });

  it("applies command-line overrides over the file", () => {
    const config = parseConfig(readFileSync("config/config.example.yaml", "utf8"), "example");
    const overridden = applyOverrides(config, { host: "0.0.0.0", port: 1234, logLevel: "debug" });
    expect(overridden.server).toMatchObject({ host: "0.0.0.0", port: 1234, logLevel: "debug" });
    expect(() => applyOverrides(config, { logLevel: "loud" })).toThrow(/--log-level/);
  });
});
