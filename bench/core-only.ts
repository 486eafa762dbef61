/**
 * The chat core's own CPU per non-streaming request, without sockets: the facade's decoding of a request body,
 * `core.complete` (routing, the attempt, the OpenAI-compatible adapter building the upstream body and reading
 * the answer), and the facade's encoding of the result. The upstream is a transport that answers from memory
 * on the next turn of the event loop, with the bytes the mock vendor sends.
 *
 * It says how much of the gateway's CPU per request is its own work rather than the network and HTTP layers
 * (bench/README.md#why-three-targets-are-out-of-reach). Usage:
 * `node bench/core-only.ts [--requests 40000] [--concurrency 200] [--rounds 5]`;
 * prints µs of CPU per request for each round.
 */
import pino from "pino";
import { parseConfig } from "../src/config/load.ts";
import { createRuntime } from "../src/core/runtime.ts";
import { parseJsonBody } from "../src/edge/json-body.ts";
import { toOpenAICompletion } from "../src/openai/from-canonical.ts";
import { decodeChatCompletion } from "../src/openai/to-canonical.ts";
import type { UpstreamRequest, UpstreamResponse } from "../src/providers/types.ts";
import { UpstreamBody } from "../src/providers/upstream-body.ts";
import { observeRequest } from "../src/telemetry/request-lifecycle.ts";
import { createRequestRecord, stampCompletion } from "../src/telemetry/request-record.ts";
import { jsonCompletion } from "./lib/mock-answers.ts";
import { readFlags } from "./lib/protocol.ts";
import { requestBody } from "./lib/scenarios.ts";

const MODEL = "bench-k5";

/** What the mock vendor answers a non-streaming request for 5 tokens with (bench/mock-upstream.ts). */
const ANSWER = Buffer.from(JSON.stringify(jsonCompletion(MODEL, 5, 1_700_000_000)));

const CONFIG = `
model_config:
  "${MODEL}": mock
providers:
  mock:
    type: openai
    base_url: "http://127.0.0.1:9/v1"
    api_key_env: BENCH_KEY
proxy:
  max_retries: 0
`;

/** The undici controller the body would pause and resume; nothing to do in memory. */
const NO_CONTROLLER = { abort() {}, pause() {}, resume() {} };

const inMemoryTransport = {
  post(_request: UpstreamRequest): Promise<UpstreamResponse> {
    const body = new UpstreamBody(NO_CONTROLLER);
    setImmediate(() => {
      body.push(ANSWER);
      body.end();
    });
    return Promise.resolve({
      status: 200,
      headers: { "content-type": "application/json" },
      body,
      text: () => body.text(),
    });
  },
};

/** The gateway logs at `warn`, which these requests never reach. */
const silentLog = pino({ level: "silent" });

async function main(): Promise<void> {
  const flags = readFlags(process.argv.slice(2));
  const requests = Number(flags.get("requests") ?? "40000");
  const concurrency = Number(flags.get("concurrency") ?? "200");
  const rounds = Number(flags.get("rounds") ?? "5");
  const runtime = createRuntime(parseConfig(CONFIG, "core-only"), {
    transport: inMemoryTransport,
    keys: { BENCH_KEY: "bench-key" },
  });
  const core = runtime.core;
  const bytes = Buffer.from(requestBody({ model: MODEL, stream: false }));
  let sequence = 0;

  async function oneRequest(): Promise<string> {
    const { request } = decodeChatCompletion(parseJsonBody(bytes), core.defaultModel);
    const record = createRequestRecord(`req-${sequence++}`, "chat", "http", true, performance.now());
    const result = await core.complete(request, {
      signal: new AbortController().signal,
      log: silentLog,
      requestId: record.requestId,
      observer: observeRequest(record),
    });
    stampCompletion(record);
    return JSON.stringify(toOpenAICompletion(result));
  }

  async function round(count: number): Promise<number> {
    const before = process.cpuUsage();
    for (let done = 0; done < count; done += concurrency) {
      await Promise.all(Array.from({ length: concurrency }, oneRequest));
    }
    const used = process.cpuUsage(before);
    return (used.user + used.system) / count;
  }

  await round(requests / 2);
  for (let i = 1; i <= rounds; i++) {
    console.log(`round ${i}: ${(await round(requests)).toFixed(1)} µs of CPU per request`);
  }
  await runtime.close();
}

await main();
