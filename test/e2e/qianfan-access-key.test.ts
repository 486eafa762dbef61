/**
 * Qianfan with an IAM Access Key / Secret Key pair instead of a console API key, end to end through the openai
 * SDK: a mock IAM on loopback checks each mint request's bce-auth-v1 signature (recomputed here by hand with
 * node:crypto from the documented algorithm) and answers a token; a mock Qianfan (OpenAI-compatible) accepts
 * only the tokens it has been told are live. The gateway's clock is the test's, so expiry is exact.
 */
import { createHmac } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import OpenAI from "openai";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { createAdapter } from "../../src/providers/registry.ts";
import { createUndiciTransport } from "../../src/providers/transport.ts";
import type { CallContext } from "../../src/providers/types.ts";
import { checkConfigFile } from "../../src/startup.ts";
import { writeTempConfig } from "../helpers/gateway-process.ts";
import { type LoopbackServer, startLoopbackServer } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const ACCESS_KEY = "ALTAKmockAccessKey4f2c9a";
const SECRET_KEY = "mockSecretKey7e1d5b3a9c";
const START = Date.parse("2026-12-06T20:00:00Z");

let clock = START;
/** Tokens the mock Qianfan accepts; each mint adds one. */
const live = new Set<string>();
const minted: string[] = [];
const iamFailures: string[] = [];
const qianfanAuth: string[] = [];
let iam: LoopbackServer;
let qianfan: LoopbackServer;

/** The documented signature of the mint request, computed apart from the gateway's own code. */
function expectedAuthorization(host: string, date: string): string {
  const prefix = `bce-auth-v1/${ACCESS_KEY}/${date}/1800`;
  const canonical = [
    "GET",
    "/v1/BCE-BEARER/token",
    "expireInSeconds=3600",
    `host:${encodeURIComponent(host)}\nx-bce-date:${encodeURIComponent(date)}`,
  ].join("\n");
  const signingKey = createHmac("sha256", SECRET_KEY).update(prefix).digest("hex");
  return `${prefix}/host;x-bce-date/${createHmac("sha256", signingKey).update(canonical).digest("hex")}`;
}

function answerIam(request: IncomingMessage, _body: string, response: ServerResponse): void {
  const date = String(request.headers["x-bce-date"]);
  const wanted = expectedAuthorization(String(request.headers.host), date);
  if (
    request.url !== "/v1/BCE-BEARER/token?expireInSeconds=3600" ||
    request.headers.authorization !== wanted
  ) {
    iamFailures.push(`${request.url} ${request.headers.authorization}`);
    response.writeHead(401, { "content-type": "application/json" });
    response.end(JSON.stringify({ code: "SignatureDoesNotMatch", message: "bad signature" }));
    return;
  }
  const token = `bce-v3/ALTAK-mintedToken${minted.length}/0123456789abcdef${minted.length}`;
  minted.push(token);
  live.add(token);
  const body = { token, status: "enable", expireTime: new Date(clock + 3_600_000).toISOString() };
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

function answerQianfan(request: IncomingMessage, raw: string, response: ServerResponse): void {
  const authorization = String(request.headers.authorization);
  qianfanAuth.push(authorization);
  if (!live.has(authorization.replace(/^Bearer /, ""))) {
    response.writeHead(401, { "content-type": "application/json" });
    const error = {
      message: `invalid token ${authorization}`,
      type: "invalid_request_error",
      code: "invalid_iam_token",
    };
    response.end(JSON.stringify({ error }));
    return;
  }
  if (request.url === "/v2/embeddings") {
    const input = (JSON.parse(raw) as { input: string[] }).input;
    response.writeHead(200, { "content-type": "application/json" });
    const data = input.map((_text, index) => ({ object: "embedding", index, embedding: [index, 0.5] }));
    response.end(JSON.stringify({ object: "list", data, usage: { prompt_tokens: 3, total_tokens: 3 } }));
    return;
  }
  const body = JSON.parse(raw) as { model: string; stream?: boolean };
  const base = { id: "as-1", created: 1_700_000_000, model: body.model };
  if (body.stream === false) {
    response.writeHead(200, { "content-type": "application/json" });
    const message = { role: "assistant", content: "你好" };
    response.end(
      JSON.stringify({
        ...base,
        object: "chat.completion",
        choices: [{ index: 0, message, finish_reason: "stop" }],
      }),
    );
    return;
  }
  response.writeHead(200, { "content-type": "text/event-stream" });
  for (const delta of [{ role: "assistant", content: "你" }, { content: "好" }]) {
    const chunk = {
      ...base,
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, finish_reason: null }],
    };
    response.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }
  const last = {
    ...base,
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
  };
  response.end(`data: ${JSON.stringify(last)}\n\ndata: [DONE]\n\n`);
}

function configYaml(extraOsEnv = ""): string {
  return `
os_env: {QIANFAN_ACCESS_KEY: "${ACCESS_KEY}", QIANFAN_SECRET_KEY: "${SECRET_KEY}"${extraOsEnv}}
model_config: {ernie-4.0-turbo-8k: qianfan}
providers:
  qianfan: {base_url: "${qianfan.origin}/v2", iam_url: "${iam.origin}/"}
proxy: {max_retries: 0}
`;
}

const keys = { QIANFAN_ACCESS_KEY: ACCESS_KEY, QIANFAN_SECRET_KEY: SECRET_KEY };
let gateway: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  iam = await startLoopbackServer(answerIam);
  qianfan = await startLoopbackServer(answerQianfan);
  gateway = await startServer(configYaml(), { keys, now: () => clock });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await gateway.close();
  await iam.close();
  await qianfan.close();
});
afterEach(() => {
  expect(iamFailures).toEqual([]);
});

const ask = (stream: boolean) =>
  stream
    ? client.chat.completions
        .stream({ model: "ernie-4.0-turbo-8k", messages: [{ role: "user", content: "hi" }] })
        .finalChatCompletion()
    : client.chat.completions.create({
        model: "ernie-4.0-turbo-8k",
        messages: [{ role: "user", content: "hi" }],
      });

describe("Qianfan with QIANFAN_ACCESS_KEY / QIANFAN_SECRET_KEY", () => {
  it("mints one token, signed as documented, for many requests (concurrent, streaming and not)", async () => {
    const answers = await Promise.all([true, false, true, false, true, false].map(ask));
    for (const answer of answers) expect(answer.choices[0]?.message.content).toBe("你好");
    expect(await ask(false)).toMatchObject({ choices: [{ message: { content: "你好" } }] });
    expect(minted).toHaveLength(1);
    expect(new Set(qianfanAuth)).toEqual(new Set([`Bearer ${minted[0]}`]));
    expect(qianfanAuth).toHaveLength(7);
  });

  it("mints a new token shortly before the old one expires, not after", async () => {
    clock = START + 3_600_000 - 6 * 60_000;
    await ask(false);
    expect(minted).toHaveLength(1);
    clock = START + 3_600_000 - 4 * 60_000;
    await ask(true);
    expect(minted).toHaveLength(2);
    expect(qianfanAuth.at(-1)).toBe(`Bearer ${minted[1]}`);
  });

  it("mints again and resends once when Qianfan answers 401 to the cached token", async () => {
    live.clear();
    const before = qianfanAuth.length;
    expect(await ask(false)).toMatchObject({ choices: [{ message: { content: "你好" } }] });
    expect(minted).toHaveLength(3);
    expect(qianfanAuth.slice(before)).toEqual([`Bearer ${minted[1]}`, `Bearer ${minted[2]}`]);
  });

  it("answers the client 401 when a fresh token is refused too, without a second refresh", async () => {
    const before = qianfanAuth.length;
    live.clear();
    const realAdd = live.add.bind(live);
    live.add = () => live;
    try {
      const error = await ask(false).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(JSON.stringify((error as InstanceType<typeof OpenAI.APIError>).error)).not.toMatch(
        /bce-v3|ALTAK/,
      );
    } finally {
      live.add = realAdd;
    }
    expect(minted).toHaveLength(4);
    expect(qianfanAuth.slice(before)).toEqual([`Bearer ${minted[2]}`, `Bearer ${minted[3]}`]);
  });

  it("never shows the keys or a token in /config or the logs", async () => {
    await ask(true);
    const view = await (await fetch(`${gateway.url}/config`)).text();
    const logs = JSON.stringify(gateway.logs);
    expect(logs).toMatch(/minted a Qianfan bearer token/);
    for (const secret of [ACCESS_KEY, SECRET_KEY, ...minted, "0123456789abcdef"]) {
      expect(view).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    expect(view).toContain('"access_key_env":"QIANFAN_ACCESS_KEY"');
  });
});

describe("Qianfan key choice", () => {
  it("uses the console API key when one is set, and mints nothing", async () => {
    const apiKey = "bce-v3/ALTAK-consoleKey/abcdef0123456789";
    const withApiKey = await startServer(configYaml(), { keys: { ...keys, QIANFAN_API_KEY: apiKey } });
    live.add(apiKey);
    const mintedBefore = minted.length;
    try {
      const answer = await new OpenAI({
        baseURL: `${withApiKey.url}/v1`,
        apiKey: "unused",
      }).chat.completions.create({
        model: "ernie-4.0-turbo-8k",
        messages: [{ role: "user", content: "hi" }],
      });
      expect(answer.choices[0]?.message.content).toBe("你好");
      expect(qianfanAuth.at(-1)).toBe(`Bearer ${apiKey}`);
      expect(minted).toHaveLength(mintedBefore);
    } finally {
      await withApiKey.close();
    }
  });

  it("--check-config passes with the key pair in os_env, and names both ways when neither is set", async () => {
    const passed = await checkConfigFile(writeTempConfig(configYaml()), {});
    expect(passed).toMatchObject({ ok: true, text: expect.stringMatching(/OK \(1 models, 1 providers/) });
    expect(passed.text).not.toContain(SECRET_KEY);
    const missing = await checkConfigFile(writeTempConfig("model_config: {ernie: qianfan}\n"), {});
    expect(missing.ok).toBe(false);
    expect(missing.text).toMatch(
      /QIANFAN_API_KEY is not set, nor both of QIANFAN_ACCESS_KEY and QIANFAN_SECRET_KEY/,
    );
  });
});

describe("Qianfan embeddings with the key pair", () => {
  it("send the minted token, and mint again once on a 401", async () => {
    const config = parseConfig(configYaml(), "qianfan.yaml").providers.get("qianfan");
    if (config === undefined) throw new Error("no qianfan provider");
    const adapter = createAdapter(config, keys, { maxSseEventBytes: 1 << 20 });
    const transport = createUndiciTransport({ connectionsPerOrigin: 4, connectTimeoutMs: 5_000 });
    const context: CallContext = {
      upstreamModel: "embedding-v1",
      signal: new AbortController().signal,
      transport,
      log: pino({ level: "silent" }),
      requestId: "embeddings-1",
      now: () => clock,
      generateId: (prefix) => `${prefix}-1`,
    };
    const request = { model: "embedding-v1", inputs: ["a", "b"] };
    try {
      const mintedBefore = minted.length;
      expect((await adapter.embed?.(request, context))?.vectors).toEqual([
        [0, 0.5],
        [1, 0.5],
      ]);
      expect(minted).toHaveLength(mintedBefore + 1);
      expect(qianfanAuth.at(-1)).toBe(`Bearer ${minted.at(-1)}`);
      live.clear();
      const before = qianfanAuth.length;
      expect((await adapter.embed?.(request, context))?.vectors).toHaveLength(2);
      expect(minted).toHaveLength(mintedBefore + 2);
      expect(qianfanAuth.slice(before)).toEqual([`Bearer ${minted.at(-2)}`, `Bearer ${minted.at(-1)}`]);
    } finally {
      await transport.close();
    }
  });
});
