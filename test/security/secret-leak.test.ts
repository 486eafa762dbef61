/**
 * Secrets stay inside: the real process (`node src/main.ts`, debug logging) runs with vendor keys in os_env, in a
 * literal api_key and in a provider header, with client keys (plain, hashed, from a variable) and an admin key.
 * Traffic covers successes and failures on both protocols: wrong and missing keys, mock vendors that echo the key
 * they got in 401/500 bodies and in a mid-stream error, GET /config, valid and invalid reloads (the invalid ones
 * with a secret on the failing line), and --check-config. Three more vendors (OpenAI-compatible, Anthropic and
 * Gemini wire formats, test/helpers/leaky-vendors.ts) echo their key in every field of their errors (message,
 * param, code, type, status, nested objects, headers), base64- and URL-encoded and masked, before the stream and in
 * the middle of it; each is called over chat JSON, chat SSE, gRPC (grpc-js: the fast lane, on this traced process
 * and on a second one without tracing), Connect and gRPC-web (Connect's handler, which answers plain gRPC with the
 * fast lane's bytes: test/grpc/differential.test.ts). All the processes write, every span exported (to a mock OTLP
 * collector with a secret auth header) and every answer (status, headers, trailers, body) is captured and searched
 * for every secret, its encoded forms and the pieces a masked echo shows.
 */
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import {
  type GatewayChild,
  killGatewayProcesses,
  runGatewayToExit,
  startGatewayProcess,
  writeTempConfig,
} from "../helpers/gateway-process.ts";
import {
  LEAK_PLACES,
  type LeakyUpstream,
  type LeakyVendor,
  leakForms,
  startCollector,
  startEchoingVendor,
  startLeakyVendor,
} from "../helpers/leaky-vendors.ts";
import { startMockAnthropicUpstream } from "../helpers/mock-anthropic-upstream.ts";
import type { MockUpstream } from "../helpers/mock-server.ts";
import { chatMessage, grpcJsAnswer, httpRpcAnswer } from "../helpers/rpc-answers.ts";

const secret = (label: string) => `${label}-${randomBytes(12).toString("hex")}`;
/** A key with characters URL encoding changes (`/`, `+`, `=`), as Qianfan's and base64-style keys have. */
const encodableSecret = (label: string) =>
  `${label}-${randomBytes(6).toString("hex")}/${randomBytes(6).toString("hex")}+${randomBytes(6).toString("hex")}=`;
const ECHO_KEYS: Readonly<Record<LeakyVendor, string>> = {
  openai: encodableSecret("sk-echo-openai"),
  anthropic: encodableSecret("sk-ant-echo"),
  gemini: encodableSecret("gemini-echo"),
};
const SECRETS = {
  osEnvVendorKey: secret("sk-osenv"),
  rotatedVendorKey: secret("sk-rotated"),
  literalVendorKey: secret("sk-ant-literal"),
  headerToken: secret("hdr-token"),
  clientKey: secret("sk-client-plain"),
  hashedClientKey: secret("sk-client-hashed"),
  envClientKey: secret("sk-client-env"),
  adminKey: secret("sk-admin"),
  rotatedClientKey: secret("sk-client-rotated"),
  secretInBrokenFile: secret("sk-in-broken-yaml"),
  secretInInvalidSchema: secret("sk-in-invalid-schema"),
  collectorToken: secret("otlp-token"),
  openaiEchoKey: ECHO_KEYS.openai,
  anthropicEchoKey: ECHO_KEYS.anthropic,
  geminiEchoKey: ECHO_KEYS.gemini,
};
/** Public model → upstream model of every leak: `<vendor>-<place>` fails before the stream, `<vendor>-mid-<place>` in it. */
const LEAKY_MODELS = Object.entries(LEAK_PLACES).flatMap(([vendor, places]) =>
  places.flatMap((place) => [
    { vendor, model: `${vendor}-${place}`, upstream: `leak-${place}`, midStream: false },
    { vendor, model: `${vendor}-mid-${place}`, upstream: `leak-mid-${place}`, midStream: true },
  ]),
);
/** JSON with bigints (proto int64) as strings. */
const stringify = (value: unknown) =>
  JSON.stringify(value, (_key, item) => (typeof item === "bigint" ? String(item) : item));
const HASH = createHash("sha256").update(SECRETS.hashedClientKey).digest("hex");

function configYaml(
  vendorUrl: string,
  anthropicUrl: string,
  vendorKey: string,
  extraClientKey?: string,
  telemetry = true,
): string {
  const leakyModels = LEAKY_MODELS.map(({ vendor, model }) => `${model}: echo-${vendor}`).join(", ");
  const leakyRoutes = Object.keys(LEAK_PLACES).map((vendor) => {
    const routes = LEAKY_MODELS.filter((leak) => leak.vendor === vendor);
    return `  echo-${vendor}: {${routes.map(({ model, upstream }) => `${model}: ${upstream}`).join(", ")}}`;
  });
  return `
${telemetry ? `telemetry: {endpoint: "${collector.url}", headers: {Authorization: "Bearer ${SECRETS.collectorToken}"}}` : ""}
os_env: {LEAK_VENDOR_KEY: "${vendorKey}"}
model_config: {gpt-ok: leaky, gpt-401: leaky, gpt-500: leaky, gpt-mid: leaky, claude-ok: claude, claude-401: claude, echo-1: echo, ${leakyModels}}
model_routes:
  leaky: {gpt-401: leak-401, gpt-500: leak-500, gpt-mid: leak-midstream}
  claude: {claude-401: status-401}
${leakyRoutes.join("\n")}
providers:
  leaky: {type: openai, base_url: "${vendorUrl}", api_key_env: LEAK_VENDOR_KEY, headers: {X-Extra-Token: "${SECRETS.headerToken}"}}
  claude: {preset: anthropic, base_url: "${anthropicUrl}", api_key: "${SECRETS.literalVendorKey}"}
  echo-openai: {type: openai, base_url: "${leaky.openai.baseUrl}", api_key: "${SECRETS.openaiEchoKey}"}
  echo-anthropic: {type: anthropic, base_url: "${leaky.anthropic.baseUrl}", api_key: "${SECRETS.anthropicEchoKey}"}
  echo-gemini: {type: gemini, base_url: "${leaky.gemini.baseUrl}", api_key: "${SECRETS.geminiEchoKey}"}
# Every leak fails on purpose: no cooldown may stop a call from reaching its vendor.
proxy: {max_retries: 0, default_model: echo-1, cooldown: {failures: 100000}}
server: {watch_config: false}
auth:
  keys:
    - {name: team, key: "${SECRETS.clientKey}"}
    - {name: hashed, key_sha256: "${HASH}"}
    - {name: from-env, key_env: LEAK_CLIENT_KEY}
${extraClientKey === undefined ? "" : `    - {name: rotated, key: "${extraClientKey}"}\n`}  admin_keys:
    - {name: ops, key: "${SECRETS.adminKey}"}
`;
}

const captured: string[] = [];
let gateway: GatewayChild;
let port = 0;
/** The same config without tracing (gRPC calls take the fast lane, src/grpc/fast-lane.ts, either way). */
let plainGateway: GatewayChild & { readonly port: number };
let vendor: Awaited<ReturnType<typeof startEchoingVendor>>;
const leaky = {} as Record<LeakyVendor, LeakyUpstream>;
let anthropic: MockUpstream;
let collector: Awaited<ReturnType<typeof startCollector>>;
let file = "";

const GATEWAY_ENV = { ...process.env, LEAK_CLIENT_KEY: SECRETS.envClientKey, OTEL_BSP_SCHEDULE_DELAY: "200" };

beforeAll(async () => {
  vendor = await startEchoingVendor();
  collector = await startCollector();
  anthropic = await startMockAnthropicUpstream(SECRETS.literalVendorKey);
  for (const name of Object.keys(LEAK_PLACES) as LeakyVendor[]) leaky[name] = await startLeakyVendor(name);
  file = writeTempConfig(configYaml(vendor.url, anthropic.baseUrl, SECRETS.osEnvVendorKey));
  const plainFile = writeTempConfig(
    configYaml(vendor.url, anthropic.baseUrl, SECRETS.osEnvVendorKey, undefined, false),
  );
  const [started, plain] = await Promise.all([
    startGatewayProcess(["--config", file, "--log-level", "debug"], { env: GATEWAY_ENV }),
    startGatewayProcess(["--config", plainFile, "--log-level", "debug"], { env: GATEWAY_ENV }),
  ]);
  gateway = started;
  port = started.port;
  plainGateway = plain;
});

afterAll(async () => {
  killGatewayProcesses();
  await vendor.close();
  await anthropic.close();
  for (const upstream of Object.values(leaky)) await upstream.close();
  await collector.close();
});

/** One HTTP exchange, fully captured. */
async function call(
  path: string,
  options: { method?: string; key?: string; body?: object } = {},
): Promise<{ status: number; text: string }> {
  const response = await request(`http://127.0.0.1:${port}${path}`, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers: {
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...(options.key === undefined ? {} : { authorization: `Bearer ${options.key}` }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.body.text();
  captured.push(`${response.statusCode} ${JSON.stringify(response.headers)} ${text}`);
  return { status: response.statusCode, text };
}

const chat = (model: string, key: string | undefined, stream = false) =>
  call("/v1/chat/completions", {
    key,
    body: { model, stream, messages: [{ role: "user", content: "hello" }] },
  });

/** The same failing call on the Responses and Messages edges, JSON then stream. */
const newEdges = async (model: string, key: string) =>
  Promise.all(
    [false, true].flatMap((stream) => [
      call("/v1/responses", { key, body: { model, stream, input: "hello" } }),
      call("/v1/messages", {
        key,
        body: { model, stream, max_tokens: 16, messages: [{ role: "user", content: "hi" }] },
      }),
    ]),
  );

/** Keeps a protocol call's whole answer for the final search, and hands it to the test. */
async function keep(answer: Promise<string>): Promise<string> {
  const text = await answer;
  captured.push(text);
  return text;
}

describe("secrets never leave the process", () => {
  it("serves and refuses HTTP calls: client keys, wrong keys, vendors echoing their key", async () => {
    for (const key of [SECRETS.clientKey, SECRETS.hashedClientKey, SECRETS.envClientKey]) {
      expect((await chat("echo-1", key)).status).toBe(200);
    }
    for (const key of [undefined, SECRETS.adminKey, `${SECRETS.clientKey}x`, SECRETS.osEnvVendorKey]) {
      expect((await chat("echo-1", key)).status).toBe(401);
    }
    expect((await chat("gpt-ok", SECRETS.clientKey)).status).toBe(200);
    expect((await chat("gpt-ok", SECRETS.clientKey, true)).status).toBe(200);
    expect((await chat("gpt-401", SECRETS.clientKey)).status).toBe(401);
    expect((await chat("gpt-500", SECRETS.clientKey)).status).toBeGreaterThanOrEqual(500);
    expect((await chat("gpt-mid", SECRETS.clientKey, true)).text).toMatch(/"error"/);
    expect((await chat("claude-ok", SECRETS.clientKey)).status).toBe(200);
    expect((await chat("claude-401", SECRETS.clientKey)).status).toBe(401);
    expect(
      (await call("/v1/chat/completions", { key: SECRETS.clientKey, body: { messages: "bad" } })).status,
    ).toBe(400);
  });

  it("serves and refuses RPCs the same way", async () => {
    const session = new Http2SessionManager(`http://127.0.0.1:${port}`);
    const rpc = (key: string | undefined) =>
      createClient(
        ChatService,
        createGrpcTransport({
          baseUrl: `http://127.0.0.1:${port}`,
          sessionManager: session,
          interceptors: [
            (next) => async (req) => {
              if (key !== undefined) req.header.set("authorization", `Bearer ${key}`);
              return next(req);
            },
          ],
        }),
      );
    const message = (model: string) => ({ model, messages: [{ role: "user", content: "hello" }] });
    const outcome = async (promise: Promise<unknown>) => {
      try {
        captured.push(stringify(await promise));
      } catch (error) {
        captured.push(String(error), stringify(error));
      }
    };
    await outcome(rpc(SECRETS.clientKey).createChatCompletion(message("gpt-ok")));
    await outcome(rpc(SECRETS.clientKey).createChatCompletion(message("gpt-401")));
    await outcome(rpc(SECRETS.clientKey).createChatCompletion(message("claude-401")));
    await outcome(rpc(undefined).createChatCompletion(message("gpt-ok")));
    await outcome(rpc(SECRETS.adminKey).listModels({}));
    const chunks: unknown[] = [];
    await outcome(
      (async () => {
        for await (const chunk of rpc(SECRETS.clientKey).streamChatCompletion(message("gpt-mid")))
          chunks.push(chunk);
      })(),
    );
    captured.push(stringify(chunks));
    session.abort();
  });

  it("reports vendors echoing their key in every field, encoding and mask, on every protocol", async () => {
    for (const { model, midStream } of LEAKY_MODELS) {
      const json = await chat(model, SECRETS.clientKey);
      const sse = await chat(model, SECRETS.clientKey, true);
      const message = chatMessage(model);
      const key = SECRETS.clientKey;
      const grpcJs = await keep(grpcJsAnswer(port, key, message, midStream));
      const fastLane = await keep(grpcJsAnswer(plainGateway.port, key, message, midStream));
      const connectUnary = await keep(httpRpcAnswer(port, key, "connect", "CreateChatCompletion", message));
      const connectStream = await keep(
        httpRpcAnswer(port, key, "connect-stream", "StreamChatCompletion", message),
      );
      const method = midStream ? "StreamChatCompletion" : "CreateChatCompletion";
      const grpcWeb = await keep(httpRpcAnswer(port, key, "grpc-web", method, message));
      const [responsesJson, messagesJson, responsesSse, messagesSse] = await newEdges(model, key);
      for (const answer of [responsesJson, messagesJson]) expect(answer?.text, model).toMatch(/error/);
      // Each protocol reported the failure where it happened: before the answer, or after some of it.
      expect(json.text, model).toMatch(/"error"/);
      expect(connectUnary, model).toMatch(/^[45]\d\d .*"code":"[a-z_]+"/);
      if (midStream) {
        expect(sse.status, model).toBe(200);
        for (const answer of [sse.text, grpcJs, fastLane, connectStream, grpcWeb])
          expect(answer, model).toMatch(/Half an answer[\s\S]*("error"|"code":[1-9]|grpc-status: ?[1-9])/);
        for (const answer of [responsesSse, messagesSse])
          expect(answer?.text, model).toMatch(/Half an answer[\s\S]*(response\.failed|event: error)/);
      } else {
        expect(
          [json, sse, responsesJson, messagesJson, responsesSse, messagesSse].map((a) => a?.status),
          model,
        ).toEqual(Array(6).fill(401));
        for (const answer of [grpcJs, fastLane]) expect(answer, model).toMatch(/"code":16/);
        for (const answer of [connectStream, grpcWeb])
          expect(answer, model).toMatch(/unauthenticated|grpc-status: ?16/);
      }
    }
    // Every call reached its vendor with the vendor's key: 11 calls per leaking model.
    for (const [name, upstream] of Object.entries(leaky) as [LeakyVendor, LeakyUpstream][]) {
      expect(upstream.keys).toEqual(new Set([ECHO_KEYS[name]]));
      expect(upstream.requests).toHaveLength(11 * 2 * LEAK_PLACES[name].length);
    }
  }, 60_000);

  it("shows /config and reloads valid and invalid files (secrets on the failing lines)", async () => {
    expect((await call("/config", { key: SECRETS.adminKey })).status).toBe(200);
    expect((await call("/config", { key: SECRETS.clientKey })).status).toBe(401);

    writeFileSync(
      file,
      configYaml(vendor.url, anthropic.baseUrl, SECRETS.rotatedVendorKey, SECRETS.rotatedClientKey),
    );
    expect((await call("/config/reload", { method: "POST", key: SECRETS.adminKey })).status).toBe(200);
    expect((await chat("gpt-ok", SECRETS.rotatedClientKey)).status).toBe(200);
    expect(vendor.seen).toContain(`Bearer ${SECRETS.rotatedVendorKey}`);
    writeFileSync(
      file,
      `${configYaml(vendor.url, anthropic.baseUrl, SECRETS.rotatedVendorKey)}\n  - {name: broken, key: "${SECRETS.secretInBrokenFile}"`,
    );
    expect((await call("/config/reload", { method: "POST", key: SECRETS.adminKey })).status).toBe(400);
    writeFileSync(
      file,
      `os_env: {LEAK_VENDOR_KEY: ["${SECRETS.secretInInvalidSchema}"]}\nmodel_config: {echo-1: echo}\n`,
    );
    expect((await call("/config/reload", { method: "POST", key: SECRETS.adminKey })).status).toBe(400);
    expect((await call("/config", { key: SECRETS.adminKey })).status).toBe(200);
  });

  it("checks files with --check-config", async () => {
    const check = await runGatewayToExit(["--check-config", "--config", file], { env: GATEWAY_ENV });
    expect(check.code).toBe(1);
    captured.push(check.stdout, check.stderr);
    writeFileSync(
      file,
      configYaml(vendor.url, anthropic.baseUrl, SECRETS.rotatedVendorKey, SECRETS.rotatedClientKey),
    );
    const checkOk = await runGatewayToExit(["--check-config", "--config", file], { env: GATEWAY_ENV });
    expect(checkOk.code).toBe(0);
    captured.push(checkOk.stdout, checkOk.stderr);
  });

  it("shuts down, flushing its spans, after using every key for real", async () => {
    gateway.child.kill("SIGTERM");
    plainGateway.child.kill("SIGTERM");
    expect((await gateway.exited).code).toBe(0);
    expect((await plainGateway.exited).code).toBe(0);
    captured.push(gateway.stdout(), gateway.stderr(), plainGateway.stdout(), plainGateway.stderr());
    // Every span exported (flushed at shutdown), with its attributes.
    expect(collector.exports.join("")).toMatch(/"spans"/);
    expect(collector.exports.join("")).toMatch(/llmproxy\.v1\.ChatService/);
    captured.push(...collector.exports);
    // The keys were really used: the vendors received them.
    expect(vendor.seen).toContain(`Bearer ${SECRETS.osEnvVendorKey}`);
    expect(vendor.seen).toContain(SECRETS.headerToken);
    expect(
      anthropic.requests.some((received) => received.headers["x-api-key"] === SECRETS.literalVendorKey),
    ).toBe(true);
  });

  it("finds no secret in anything the process wrote or answered", () => {
    const everything = captured.join("\n");
    expect(everything).toMatch(/config reload rejected/);
    expect(everything).toMatch(/YAML syntax \(line \d+, column \d+\)/);
    expect(everything).toMatch(/OK \(/);
    // The failures were logged (with what was left of the vendors' messages) on every path.
    for (const line of ["rpc failed", "stream failed after start", "Incorrect API key provided: [redacted]"])
      expect(everything).toContain(line);
    const leaks = Object.entries({ ...SECRETS, clientKeyHash: HASH }).flatMap(([name, value]) =>
      Object.entries(leakForms(value))
        .filter(([, text]) => everything.includes(text))
        .map(([form]) => `${name} (${form})`),
    );
    expect(leaks).toEqual([]);
  });
});
