/**
 * The auth rules in isolation: which routes are open, admin or API; bearer parsing; key tables (digests only,
 * lookups, allow lists); config validation of the auth section by YAML path; the open-gateway warning; and the
 * admin routes' loopback rule when no admin key is configured.
 */
import { createHash } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { accessOf, bearerKey, isLoopback } from "../../src/auth/auth-hook.ts";
import { lookupKey, modelAccess, OPEN_AUTH_TABLE, resolveAuth } from "../../src/auth/keys.ts";
import { ConfigError } from "../../src/config/config-error.ts";
import { parseConfig } from "../../src/config/load.ts";
import { checkServing } from "../../src/config/serving-checks.ts";
import { openGatewayWarning } from "../../src/startup.ts";
import { buildTestApp } from "../helpers/build-app.ts";

const KEY = "sk-rules-0123456789abcdef";

describe("accessOf", () => {
  it("leaves health, readiness, docs, OpenAPI, gRPC reflection and health open", () => {
    for (const route of [
      "/health",
      "/ready",
      "/docs",
      "/docs/",
      "/docs/static/index.html",
      "/redoc",
      "/openapi.json",
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      "/grpc.health.v1.Health/Check",
    ]) {
      expect(accessOf(route), route).toBe("open");
    }
  });

  it("guards the admin routes, the API and unmatched paths", () => {
    expect(accessOf("/config")).toBe("admin");
    expect(accessOf("/config/reload")).toBe("admin");
    expect(accessOf("/v1/chat/completions")).toBe("api");
    expect(accessOf("/llmproxy.v1.ChatService/CreateChatCompletion")).toBe("api");
    expect(accessOf(undefined)).toBe("api");
    expect(accessOf("/healthz")).toBe("api");
    expect(accessOf("/documents")).toBe("api");
  });
});

describe("bearerKey and isLoopback", () => {
  it("reads only a well-formed Bearer token", () => {
    expect(bearerKey(`Bearer ${KEY}`)).toBe(KEY);
    expect(bearerKey(`BEARER  ${KEY} `)).toBe(KEY);
    expect(bearerKey(`Basic ${KEY}`)).toBeUndefined();
    expect(bearerKey("Bearer ")).toBeUndefined();
    expect(bearerKey(KEY)).toBeUndefined();
    expect(bearerKey(undefined)).toBeUndefined();
    expect(bearerKey([`Bearer ${KEY}`])).toBeUndefined();
    expect(bearerKey(`Bearer ${"x".repeat(2000)}`)).toBeUndefined();
  });

  it("knows loopback peers", () => {
    expect(["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"].every(isLoopback)).toBe(true);
    expect(["10.0.0.1", "::ffff:10.0.0.1", "192.168.1.1", "fe80::1", undefined].some(isLoopback)).toBe(false);
  });
});

describe("key tables", () => {
  it("keep digests only, and find keys by digest", () => {
    const { table, issues } = resolveAuth(
      {
        keys: [
          { name: "plain", key: KEY },
          { name: "env", key_env: "RULES_KEY" },
          {
            name: "hash",
            key_sha256: createHash("sha256").update("sk-hashed-0123456789").digest("hex").toUpperCase(),
          },
        ],
        admin_keys: [],
      },
      { RULES_KEY: "sk-from-env-0123456789" },
    );
    expect(issues).toEqual([]);
    expect(inspect(table, { depth: 10 })).not.toContain(KEY);
    expect(lookupKey(table.clients, KEY)?.name).toBe("plain");
    expect(lookupKey(table.clients, "sk-from-env-0123456789")?.name).toBe("env");
    expect(lookupKey(table.clients, "sk-hashed-0123456789")?.name).toBe("hash");
    expect(lookupKey(table.clients, `${KEY}x`)).toBeUndefined();
    expect(lookupKey(OPEN_AUTH_TABLE.clients, KEY)).toBeUndefined();
  });

  it("report an unset key_env and a key listed twice by YAML path", () => {
    const { issues } = resolveAuth(
      {
        keys: [
          { name: "a", key: KEY },
          { name: "b", key: KEY },
        ],
        admin_keys: [{ name: "c", key_env: "UNSET_VAR" }],
      },
      {},
    );
    expect(issues).toEqual([
      { path: "auth.keys.1", message: "the same key as 'a'" },
      { path: "auth.admin_keys.0.key_env", message: "variable UNSET_VAR is not set (environment or os_env)" },
    ]);
  });

  it("match allow lists by exact name or `*` prefix", () => {
    const access = modelAccess(["gpt-4o", "deepseek/*"]);
    expect(["gpt-4o", "deepseek/deepseek-chat"].every(access.allows)).toBe(true);
    expect(["gpt-4o-mini", "deepseek", "gpt-4"].some(access.allows)).toBe(false);
  });
});

describe("auth section of the config", () => {
  const parseIssues = (auth: string): string[] => {
    try {
      parseConfig(`model_config: {echo-1: echo}\nauth: ${auth}`, "auth.yaml");
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    }
  };

  it("is optional, and rejects malformed entries with their YAML path", () => {
    expect(parseIssues("{}")).toEqual([]);
    expect(parseIssues("{keys: [{name: a, key: short}]}")).toEqual([
      expect.stringMatching(/^auth\.keys\.0\.key: /),
    ]);
    expect(parseIssues(`{keys: [{name: a, key: ${KEY}, key_env: X}]}`)).toEqual([
      "auth.keys.0: give exactly one of key, key_sha256, key_env",
    ]);
    expect(parseIssues("{keys: [{name: a}]}")).toEqual([
      "auth.keys.0: give exactly one of key, key_sha256, key_env",
    ]);
    expect(parseIssues("{keys: [{name: a, key_sha256: abc}]}")).toEqual([
      "auth.keys.0.key_sha256: must be 64 hex characters (the SHA-256 of the key)",
    ]);
    expect(parseIssues(`{admin_keys: [{name: a, key: ${KEY}, models: [echo-1]}]}`)).toEqual([
      expect.stringMatching(/^auth\.admin_keys\.0: .*models/),
    ]);
    expect(parseIssues(`{tokens: []}`)).toEqual([expect.stringMatching(/^auth: .*tokens/)]);
  });

  it("checks that allow lists name existing models", () => {
    const config = parseConfig(
      `model_config: {echo-1: echo}\nauth: {keys: [{name: a, key: ${KEY}, models: [echo-1, echo-9, "echo/x", "nope/x", "gpt-*"]}]}`,
      "auth.yaml",
    );
    expect(checkServing(config, {}, "refuse").errors).toEqual([
      {
        path: "auth.keys.0.models.1",
        message: "'echo-9' is not a model in model_config (nor provider/model of a known provider)",
      },
      {
        path: "auth.keys.0.models.3",
        message: "'nope/x' is not a model in model_config (nor provider/model of a known provider)",
      },
    ]);
  });
});

describe("startup warning", () => {
  it("says the gateway is open when it has no client keys and listens beyond loopback", () => {
    const open = parseConfig("model_config: {echo-1: echo}\nserver: {host: 0.0.0.0}", "w.yaml");
    const local = parseConfig("model_config: {echo-1: echo}\nserver: {host: 127.0.0.1}", "w.yaml");
    const keyed = parseConfig(
      `model_config: {echo-1: echo}\nauth: {keys: [{name: a, key: ${KEY}}]}`,
      "w.yaml",
    );
    expect(openGatewayWarning(open, OPEN_AUTH_TABLE)).toMatch(/anyone who can reach this port/);
    expect(openGatewayWarning(local, OPEN_AUTH_TABLE)).toBeUndefined();
    expect(openGatewayWarning(keyed, resolveAuth(keyed.file.auth, {}).table)).toBeUndefined();
  });
});

describe("admin routes without admin keys", () => {
  it("answer loopback clients only (403 in OpenAI's envelope otherwise)", async () => {
    const app = await buildTestApp(`model_config: {echo-1: echo}\nauth: {keys: [{name: a, key: ${KEY}}]}`);
    const local = await app.inject({ method: "GET", url: "/config", remoteAddress: "127.0.0.1" });
    const remote = await app.inject({ method: "GET", url: "/config", remoteAddress: "10.1.2.3" });
    const remoteWithClientKey = await app.inject({
      method: "POST",
      url: "/config/reload",
      remoteAddress: "10.1.2.3",
      headers: { authorization: `Bearer ${KEY}` },
    });
    await app.close();
    expect(local.statusCode).toBe(200);
    expect(remote.statusCode).toBe(403);
    expect(remote.json()).toMatchObject({ error: { type: "permission_error", code: "admin_key_required" } });
    expect(remoteWithClientKey.statusCode).toBe(403);
  });
});
