/**
 * Hot reload through real sockets: POST /config/reload swaps routes, keys and adapters atomically; invalid files
 * (YAML syntax, schema, unknown provider, missing key variable) are rejected with their YAML path while the old
 * config keeps serving; requests in flight finish on the runtime they started with, whose transport closes only
 * after them; the file watch reloads on change.
 */
import { renameSync, writeFileSync } from "node:fs";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/config.ts";
import { createRuntime, type Runtime } from "../../src/core/runtime.ts";
import type { KeySource } from "../../src/providers/registry.ts";
import { type FileServer, startFileServer } from "./file-server.ts";

const BASE = `
model_config: {echo-1: echo, slow-1: slow}
providers:
  slow: {type: echo, token_delay_ms: 40}
proxy: {default_model: echo-1, max_retries: 0}
server: {log_level: info}
`;

const servers: FileServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function start(yaml = BASE, options: Parameters<typeof startFileServer>[1] = {}): Promise<FileServer> {
  const server = await startFileServer(yaml, options);
  servers.push(server);
  return server;
}

async function reload(server: FileServer): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await request(`${server.url}/config/reload`, { method: "POST" });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

async function models(server: FileServer): Promise<string[]> {
  const response = await request(`${server.url}/v1/models`);
  const body = (await response.body.json()) as { data: { id: string }[] };
  return body.data.map((model) => model.id);
}

async function chat(
  server: FileServer,
  model: string,
  text = "one two three",
): Promise<{ status: number; body: string }> {
  const response = await request(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: text }] }),
  });
  return { status: response.statusCode, body: await response.body.text() };
}

describe("POST /config/reload", () => {
  it("swaps in the new routes at once and says what it loaded", async () => {
    const server = await start();
    server.write(`${BASE.replace("echo-1: echo,", "echo-1: echo, echo-2: echo,")}`);
    const outcome = await reload(server);
    expect(outcome.status).toBe(200);
    expect(outcome.body).toMatchObject({
      status: "reloaded",
      trigger: "api",
      models: 3,
      restart_required: [],
    });
    expect(await models(server)).toEqual(["echo-1", "echo-2", "slow-1"]);
    expect((await chat(server, "echo-2")).status).toBe(200);
    expect(server.logs.some((line) => line.msg === "config reloaded")).toBe(true);
  });

  const INVALID: readonly { readonly name: string; readonly yaml: string; readonly path: RegExp }[] = [
    { name: "YAML syntax", yaml: "model_config: {echo-1: echo\nserver: [", path: /^$/ },
    { name: "schema", yaml: `${BASE}\nconnector: {limit: many}`, path: /^connector\.limit$/ },
    { name: "unknown key", yaml: `${BASE}\nproxi: {timeout: 3}`, path: /^$/ },
    {
      name: "unknown provider",
      yaml: "model_config: {m1: nosuchvendor}",
      path: /model_config.*nosuchvendor/,
    },
    {
      name: "missing key variable of a preset",
      yaml: "model_config: {gpt-x: openai, echo-1: echo}",
      path: /^model_config\.gpt-x$/,
    },
    {
      name: "missing key variable of a declared provider",
      yaml: `model_config: {m: mine}\nproviders:\n  mine: {type: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: MINE_KEY}`,
      path: /^providers\.mine\.api_key_env$/,
    },
    {
      name: "inbound key variable unset",
      yaml: `${BASE}\nauth: {keys: [{name: a, key_env: NO_SUCH_INBOUND_KEY}]}`,
      path: /^auth\.keys\.0\.key_env$/,
    },
  ];

  for (const invalid of INVALID) {
    it(`rejects an invalid file (${invalid.name}) with its YAML path and keeps serving the old config`, async () => {
      const server = await start();
      server.write(invalid.yaml);
      const outcome = await reload(server);
      expect(outcome.status).toBe(400);
      const issues = outcome.body.issues as { path: string; message: string }[];
      expect(issues.some((issue) => invalid.path.test(issue.path))).toBe(true);
      expect(outcome.body).toMatchObject({ status: "rejected", error: { code: "invalid_config" } });
      expect(String(outcome.body.message)).toMatch(/still serving the previous one/);
      expect(await models(server)).toEqual(["echo-1", "slow-1"]);
      expect((await chat(server, "echo-1")).status).toBe(200);
      expect(server.logs.some((line) => line.msg === "config reload rejected" && line.level === 40)).toBe(
        true,
      );
    });
  }

  it("lets a stream in flight finish on the runtime it started with, and closes that runtime after it", async () => {
    const events: string[] = [];
    const build = (config: Config, keys: KeySource): Runtime => {
      const runtime = createRuntime(config, { keys });
      const generation = events.filter((event) => event.startsWith("built")).length;
      events.push(`built ${generation}`);
      return { ...runtime, close: async () => void events.push(`closed ${generation}`) };
    };
    const server = await start(BASE, { createRuntime: build });
    const stream = chat(server, "slow-1", "a b c d e f g h i j");
    await new Promise((resolve) => setTimeout(resolve, 100));
    server.write("model_config: {echo-1: echo}\nproxy: {default_model: echo-1}");
    expect((await reload(server)).status).toBe(200);
    expect(events).toEqual(["built 0", "built 1"]);
    expect((await chat(server, "slow-1")).status).toBe(404);
    const finished = await stream;
    expect(finished.status).toBe(200);
    expect(JSON.parse(finished.body).choices[0].message.content).toBe("a b c d e f g h i j");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events).toEqual(["built 0", "built 1", "closed 0"]);
  });

  it("reports settings that need a restart", async () => {
    const server = await start();
    server.write(
      `${BASE.replace("server: {log_level: info}", "server: {log_level: info, port: 9999, body_limit: 1000}")}`,
    );
    const outcome = await reload(server);
    expect(outcome.body.restart_required).toEqual(["server.port", "server.body_limit"]);
  });

  it("exports os_env on reload: a value it owns follows the file, one set outside wins", async () => {
    const env: NodeJS.ProcessEnv = { OUTSIDE_VAR: "from-the-environment" };
    const server = await start(
      `${BASE}\nos_env: {OWNED_VAR: first-value, OUTSIDE_VAR: from-file, GONE_VAR: soon}`,
      { env },
    );
    expect(env).toMatchObject({
      OWNED_VAR: "first-value",
      OUTSIDE_VAR: "from-the-environment",
      GONE_VAR: "soon",
    });
    server.write(`${BASE}\nos_env: {OWNED_VAR: second-value, OUTSIDE_VAR: from-file-2, NEW_VAR: new}`);
    expect((await reload(server)).status).toBe(200);
    expect(env.OWNED_VAR).toBe("second-value");
    expect(env.OUTSIDE_VAR).toBe("from-the-environment");
    expect(env.NEW_VAR).toBe("new");
    expect("GONE_VAR" in env).toBe(false);
  });

  it("rotates inbound keys with the routes", async () => {
    const keyA = "client-key-aaaaaaaaaaaaaaaa";
    const keyB = "client-key-bbbbbbbbbbbbbbbb";
    const server = await start(`${BASE}\nauth: {keys: [{name: a, key: ${keyA}}]}`);
    const call = async (key: string) =>
      (await request(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).statusCode;
    expect([await call(keyA), await call(keyB)]).toEqual([200, 401]);
    server.write(`${BASE}\nauth: {keys: [{name: b, key: ${keyB}}]}`);
    expect((await reload(server)).status).toBe(200);
    expect([await call(keyA), await call(keyB)]).toEqual([401, 200]);
  });

  it("runs concurrent reloads one at a time", async () => {
    const server = await start();
    const outcomes = await Promise.all([reload(server), reload(server), reload(server)]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([200, 200, 200]);
    expect(server.reloader.reloads).toBe(3);
  });
});

describe("config file watch", () => {
  it("reloads when the file changes, and keeps the old config when the new one is invalid", async () => {
    const server = await start(BASE, { watchDebounceMs: 30 });
    server.write(BASE.replace("echo-1: echo,", "echo-1: echo, watched-1: echo,"));
    await until(async () => (await models(server)).includes("watched-1"));
    server.write("model_config: {broken: [");
    await until(async () => server.logs.some((line) => line.msg === "config reload rejected"));
    expect(await models(server)).toContain("watched-1");
    const reloads = server.logs.filter((line) => line.msg?.toString().startsWith("config reload"));
    expect(reloads.every((line) => (line.reload as { trigger: string }).trigger === "watch")).toBe(true);
  });
});

describe("config file watch, saved by rename", () => {
  it("reloads when an editor replaces the file (write aside, then rename over it)", async () => {
    const server = await start(BASE, { watchDebounceMs: 30 });
    const aside = `${server.path}.swp`;
    writeFileSync(aside, BASE.replace("echo-1: echo,", "echo-1: echo, renamed-1: echo,"));
    renameSync(aside, server.path);
    await until(async () => (await models(server)).includes("renamed-1"));
    expect((await chat(server, "renamed-1")).status).toBe(200);
  });
});

async function until(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
