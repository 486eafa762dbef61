/**
 * 50 reloads, valid and invalid alternating, while 200 clients keep requests and streams running on both
 * protocols through a real upstream pool (a mock vendor on loopback): no request fails, every valid reload's new
 * route answers right after the reload returns, every invalid one leaves the previous routes serving, and every
 * retired runtime (with its upstream connection pool) is closed once its requests are done.
 */
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import type { Config } from "../../src/config/config.ts";
import { createRuntime, type Runtime } from "../../src/core/runtime.ts";
import type { KeySource } from "../../src/providers/registry.ts";
import { type LoopbackServer, startLoopbackServer } from "../helpers/mock-server.ts";
import { type FileServer, startFileServer } from "./file-server.ts";

const CLIENTS = 200;
const RELOADS = 50;
const WORDS = "alpha beta gamma delta epsilon zeta";

/** A vendor that streams the last user message back in pieces, 120 ms apart, and checks the key. */
function startSlowVendor(): Promise<LoopbackServer> {
  return startLoopbackServer(async (req, raw, res) => {
    if (req.headers.authorization !== "Bearer sk-load-test-vendor-key") {
      res.writeHead(401, { "content-type": "application/json" });
      res.end('{"error":{"message":"bad key","type":"invalid_request_error"}}');
      return;
    }
    const body = JSON.parse(raw) as { model: string; messages: { content: string }[] };
    const text = body.messages.at(-1)?.content ?? "";
    res.writeHead(200, { "content-type": "text/event-stream" });
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.write(chunk({ role: "assistant", content: "" }, null));
    for (const piece of text.match(/.{1,6}/g) ?? []) {
      await new Promise((resolve) => setTimeout(resolve, 120));
      res.write(chunk({ content: piece }, null));
    }
    res.end(`${chunk({}, "stop")}data: [DONE]\n\n`);
  });
}

function configYaml(vendorUrl: string, extraModels: readonly string[]): string {
  // New routes go to the instant echo provider: the check right after each reload should not wait on a stream.
  const models = ["  up-0: vendor", ...extraModels.map((model) => `  ${model}: echo`)].join("\n");
  return `
os_env: {LOAD_VENDOR_KEY: sk-load-test-vendor-key}
model_config:
${models}
  echo-slow: slow
providers:
  vendor: {type: openai, base_url: "${vendorUrl}", api_key_env: LOAD_VENDOR_KEY}
  slow: {type: echo, token_delay_ms: 150}
proxy: {max_retries: 0, timeout: 60}
connector: {limit_per_host: 256}
server: {watch_config: false}
`;
}

const INVALID_FILES: readonly ((vendorUrl: string) => string)[] = [
  () => "model_config: {up-0: vendor\nproviders: [",
  (url) => `${configYaml(url, [])}\nproxy: {timeout: forever}`,
  (url) => `${configYaml(url, [])}`.replace("up-0: vendor", "up-0: no-such-vendor"),
  (url) =>
    `${configYaml(url, [])}`
      .replace("os_env: {LOAD_VENDOR_KEY: sk-load-test-vendor-key}", "os_env: {}")
      .replace("LOAD_VENDOR_KEY}", "UNSET_LOAD_KEY}"),
];

let vendor: LoopbackServer;
let vendorBaseUrl = "";
let gateway: FileServer;
const built: string[] = [];
const closed: string[] = [];

beforeAll(async () => {
  vendor = await startSlowVendor();
  vendorBaseUrl = `${vendor.origin}/v1`;
  const build = (config: Config, keys: KeySource): Runtime => {
    const runtime = createRuntime(config, { keys });
    const name = `runtime-${built.length}`;
    built.push(name);
    return {
      ...runtime,
      close: async () => {
        await runtime.close();
        closed.push(name);
      },
    };
  };
  gateway = await startFileServer(configYaml(vendorBaseUrl, []), { createRuntime: build, logLevel: "warn" });
});
afterAll(async () => {
  await gateway.close();
  await vendor.close();
});

/** Shared by the clients and the reload loop. */
interface Load {
  readonly failures: string[];
  readonly counts: { http: number; sse: number; grpc: number; echo: number };
  running: boolean;
  readonly traffic: Agent;
  readonly admin: Agent;
  readonly grpc: Client<typeof ChatService>;
}

async function post(load: Load, model: string, stream: boolean, through = load.traffic) {
  const response = await request(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    dispatcher: through,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, stream, messages: [{ role: "user", content: WORDS }] }),
  });
  return { status: response.statusCode, text: await response.body.text() };
}

function check(load: Load, what: string, ok: boolean, detail: string): void {
  if (!ok) load.failures.push(`${what}: ${detail.slice(0, 300)}`);
}

const completeSse = (answer: { status: number; text: string }) =>
  answer.status === 200 && answer.text.trimEnd().endsWith("data: [DONE]") && !answer.text.includes('"error"');

/** One client: the same kind of call, again and again, until the reloads are done. */
async function runClient(load: Load, index: number): Promise<void> {
  while (load.running) {
    try {
      if (index % 5 === 0) {
        const chunks: string[] = [];
        const message = { model: "up-0", messages: [{ role: "user", content: WORDS }] };
        for await (const chunk of load.grpc.streamChatCompletion(message)) {
          chunks.push(chunk.choices[0]?.delta?.content ?? "");
        }
        check(load, "grpc stream", chunks.join("") === WORDS, chunks.join(""));
        load.counts.grpc += 1;
      } else if (index % 5 === 1) {
        const answer = await post(load, "up-0", false);
        const ok = answer.status === 200 && JSON.parse(answer.text).choices[0].message.content === WORDS;
        check(load, "http completion", ok, answer.text);
        load.counts.http += 1;
      } else if (index % 5 === 2) {
        const answer = await post(load, "echo-slow", true);
        check(load, "echo stream", completeSse(answer), answer.text);
        load.counts.echo += 1;
      } else {
        const answer = await post(load, "up-0", true);
        check(load, "sse stream", completeSse(answer), answer.text);
        load.counts.sse += 1;
      }
    } catch (error) {
      load.failures.push(`client ${index}: ${String(error)}`);
    }
  }
}

/** Reload number `reload`: odd ones add a model, even ones write an invalid file. */
async function reloadOnce(load: Load, reload: number, extra: string[]): Promise<"valid" | "invalid"> {
  const valid = reload % 2 === 1;
  if (valid) extra.push(`new-${reload}`);
  const invalid = INVALID_FILES[(reload / 2) % INVALID_FILES.length] as (url: string) => string;
  gateway.write(valid ? configYaml(vendorBaseUrl, extra) : invalid(vendorBaseUrl));
  const response = await request(`${gateway.url}/config/reload`, { method: "POST", dispatcher: load.admin });
  const outcome = (await response.body.json()) as { status: string; issues?: { path: string }[] };
  if (valid) {
    const ok = response.statusCode === 200 && outcome.status === "reloaded";
    check(load, `reload ${reload}`, ok, JSON.stringify(outcome));
    const fresh = await post(load, `new-${reload}`, false, load.admin);
    check(load, `new route new-${reload}`, fresh.status === 200, fresh.text);
    return "valid";
  }
  const refused = response.statusCode === 400 && (outcome.issues?.length ?? 0) > 0;
  check(load, `invalid reload ${reload}`, refused, JSON.stringify(outcome));
  const previous = extra.at(-1) ?? "up-0";
  const still = await post(load, previous, false, load.admin);
  check(load, `previous route ${previous} after invalid reload`, still.status === 200, still.text);
  return "invalid";
}

describe(`${RELOADS} reloads under ${CLIENTS} concurrent requests and streams`, () => {
  it("fails no request, serves each new route at once, and closes every retired runtime", async () => {
    const session = new Http2SessionManager(gateway.url);
    const load: Load = {
      failures: [],
      counts: { http: 0, sse: 0, grpc: 0, echo: 0 },
      running: true,
      traffic: new Agent({ connections: CLIENTS + 20 }),
      admin: new Agent({ connections: 4 }),
      grpc: createClient(ChatService, createGrpcTransport({ baseUrl: gateway.url, sessionManager: session })),
    };
    const clients = Array.from({ length: CLIENTS }, (_, index) => runClient(load, index));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const extra: string[] = [];
    const outcomes = { valid: 0, invalid: 0 };
    for (let reload = 1; reload <= RELOADS; reload++) {
      outcomes[await reloadOnce(load, reload, extra)] += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // On a loaded machine the reloads can finish before every client made its rounds: keep the traffic
    // going (bounded) until it clearly overlapped them, rather than measuring the machine's speed.
    const served = () => load.counts.http + load.counts.sse + load.counts.grpc + load.counts.echo;
    await until(() => served() > CLIENTS * 2, 20_000);
    load.running = false;
    await Promise.all(clients);
    session.abort();
    await Promise.all([load.traffic.close(), load.admin.close()]);

    expect(load.failures).toEqual([]);
    expect(outcomes).toEqual({ valid: RELOADS / 2, invalid: RELOADS / 2 });
    const { http, sse, grpc, echo } = load.counts;
    expect(http + sse + grpc + echo).toBeGreaterThan(CLIENTS * 2);
    expect(Math.min(http, sse, grpc, echo)).toBeGreaterThan(0);
    // Every runtime but the current one was retired and, its requests done, closed.
    await until(() => closed.length === built.length - 1);
    expect(built.length).toBe(1 + RELOADS / 2);
    expect(new Set(closed)).toEqual(new Set(built.slice(0, -1)));
    expect(gateway.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);
  }, 60_000);
});

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
