/**
 * GET /config through a real socket: the effective configuration (defaults, presets merged) with every secret
 * redacted, by name and by value, and the variables the config relies on reported as set or unset.
 */
import { createHash } from "node:crypto";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSecretName, REDACTED, scrubString } from "../../src/config/redact.ts";
import { type FileServer, startFileServer } from "./file-server.ts";

const SECRETS = {
  osEnvKey: "sk-osenv-deepseek-7f3a9c1e5b",
  literalKey: "sk-literal-anthropic-2b8d4f6a",
  headerToken: "hdr-token-91c3e5a7b9d1",
  urlPassword: "url-pass-5e7f9a1b3c",
  queryKey: "AIzaQueryKey-1234567890",
  inboundPlain: "sk-inbound-plain-4c6e8a0b2d",
  inboundHashed: "sk-inbound-hashed-6e8a0b2d4f",
  inboundEnv: "sk-inbound-env-8a0b2d4f6b",
  admin: "sk-admin-key-0b2d4f6b8d",
  outsideVendor: "sk-outside-openai-2d4f6b8d0f",
};
const HASH = createHash("sha256").update(SECRETS.inboundHashed).digest("hex");

const YAML = `
os_env:
  DEEPSEEK_API_KEY: ${SECRETS.osEnvKey}
  SOME_FLAG: "1"
model_config: {chat: deepseek, claude: my-claude, gem: my-gemini, local: my-vllm, echo-1: echo, gpt: openai}
providers:
  my-claude: {preset: anthropic, api_key: ${SECRETS.literalKey}, headers: {Authorization: "Bearer ${SECRETS.headerToken}", X-Title: my-app}}
  my-gemini: {type: gemini, base_url: "https://generativelanguage.googleapis.com/v1beta?key=${SECRETS.queryKey}", api_key_env: GEMINI_KEY_VAR}
  my-vllm: {type: openai, base_url: "http://user:${SECRETS.urlPassword}@127.0.0.1:8000/v1"}
proxy: {default_model: echo-1}
auth:
  keys:
    - {name: team-a, key: ${SECRETS.inboundPlain}, models: [chat, echo-1]}
    - {name: team-b, key_sha256: ${HASH}}
    - {name: team-c, key_env: TEAM_C_KEY}
  admin_keys:
    - {name: ops, key: ${SECRETS.admin}}
`;

let server: FileServer;
let text: string;
/** The parts of GET /config the assertions read. */
interface ConfigView {
  readonly source: string;
  readonly environment: Record<string, string>;
  readonly config: {
    readonly server: Record<string, unknown>;
    readonly proxy: Record<string, unknown>;
    readonly model_config: Record<string, unknown>;
    readonly os_env: Record<string, string>;
    readonly providers: Record<string, Record<string, unknown>>;
    readonly auth: { readonly keys: unknown[]; readonly admin_keys: unknown[] };
  };
}
let view: ConfigView;

beforeAll(async () => {
  server = await startFileServer(YAML, {
    env: {
      TEAM_C_KEY: SECRETS.inboundEnv,
      OPENAI_API_KEY: SECRETS.outsideVendor,
      GEMINI_KEY_VAR: "gemini-env-key-00000000",
    },
  });
  const response = await request(`${server.url}/config`, {
    headers: { authorization: `Bearer ${SECRETS.admin}` },
  });
  expect(response.statusCode).toBe(200);
  expect(response.headers["cache-control"]).toBe("no-store");
  text = await response.body.text();
  view = JSON.parse(text) as ConfigView;
});
afterAll(async () => {
  await server.close();
});

describe("GET /config", () => {
  it("contains no secret at all", () => {
    for (const [name, secret] of Object.entries({
      ...SECRETS,
      hash: HASH,
      geminiEnv: "gemini-env-key-00000000",
    })) {
      expect(text.includes(secret), name).toBe(false);
    }
  });

  it("shows the effective config: defaults, overrides and presets merged", () => {
    expect(view.source).toBe(server.path);
    expect(view.config.server).toMatchObject({
      port: 9000,
      body_limit: 10485760,
      headers_timeout: 10,
      request_timeout: 60,
    });
    expect(view.config.proxy.default_model).toBe("echo-1");
    expect(view.config.model_config.chat).toBe("deepseek");
    expect(view.config.providers.deepseek).toMatchObject({
      type: "openai",
      base_url: "https://api.deepseek.com/v1",
      api_key_env: "DEEPSEEK_API_KEY",
      quirks: ["deepseek"],
    });
    expect(view.config.providers["my-claude"]).toMatchObject({
      type: "anthropic",
      api_key: REDACTED,
      headers: { Authorization: REDACTED, "X-Title": "my-app" },
    });
    expect(view.config.providers["my-gemini"]?.base_url).toBe(
      "https://generativelanguage.googleapis.com/v1beta?key=redacted",
    );
    expect(view.config.providers["my-vllm"]?.base_url).toBe("http://user:redacted@127.0.0.1:8000/v1");
  });

  it("redacts every os_env value, and says which variables are set without their values", () => {
    expect(view.config.os_env).toEqual({ DEEPSEEK_API_KEY: REDACTED, SOME_FLAG: REDACTED });
    expect(view.environment).toEqual({
      DEEPSEEK_API_KEY: "set",
      GEMINI_KEY_VAR: "set",
      OPENAI_API_KEY: "set",
      SOME_FLAG: "set",
      TEAM_C_KEY: "set",
    });
  });

  it("shows inbound key names, variables and allow lists, never the keys or their hashes", () => {
    expect(view.config.auth.keys).toEqual([
      { name: "team-a", key: REDACTED, models: ["chat", "echo-1"] },
      { name: "team-b", key_sha256: REDACTED },
      { name: "team-c", key_env: "TEAM_C_KEY" },
    ]);
    expect(view.config.auth.admin_keys).toEqual([{ name: "ops", key: REDACTED }]);
  });
});

describe("redaction rules", () => {
  it("tell secret fields from references to them", () => {
    for (const name of [
      "api_key",
      "apiKey",
      "x-api-key",
      "Authorization",
      "X-Custom-Auth",
      "key",
      "key_sha256",
      "access_token",
      "db_password",
      "client_secret",
      "Cookie",
    ]) {
      expect(isSecretName(name), name).toBe(true);
    }
    for (const name of [
      "api_key_env",
      "key_env",
      "key_file",
      "cert_file",
      "token_delay_ms",
      "default_max_tokens",
      "max_tokens",
      "name",
      "models",
      "keys",
      "X-Title",
      "base_url",
    ]) {
      expect(isSecretName(name), name).toBe(false);
    }
  });

  it("scrub known values, URL passwords and secret query parameters out of strings", () => {
    expect(scrubString("failed with sk-abcdefgh123 in it", ["sk-abcdefgh123"])).toBe(
      "failed with [redacted] in it",
    );
    expect(scrubString("https://u:p4ss@host/x?api_key=zzz&model=m", [])).toBe(
      "https://u:redacted@host/x?api_key=redacted&model=m",
    );
    expect(scrubString("no secrets here", ["sk-abcdefgh123"])).toBe("no secrets here");
  });
});
