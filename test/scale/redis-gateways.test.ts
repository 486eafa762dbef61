/**
 * Three gateway processes (the real entry) on the shared Redis, driven with the openai SDK: a key's rpm holds
 * across all three (not three times over), and a deployment that fails on one replica is skipped by the others
 * within a second. Names are random per run, and the run's Redis keys are deleted after.
 */
import { randomBytes } from "node:crypto";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultUpstream, startFaultUpstream } from "../helpers/fault-upstream.ts";
import { killGatewayProcesses, writeTempConfig } from "../helpers/gateway-process.ts";
import { deleteKeys, SHARED_REDIS_URL } from "../helpers/redis-server.ts";
import { startReplicas } from "../helpers/replicas.ts";

const run = randomBytes(4).toString("hex");
const keyName = `rpm-ten-${run}`;
const secret = `sk-scale-${run}-rpm-ten`;
const freeSecret = `sk-scale-${run}-free`;
const broken = `broken-${run}`;
let faults: FaultUpstream;
let ports: number[] = [];

beforeAll(async () => {
  // The broken deployment answers 500 to everything; the echo one always works.
  faults = await startFaultUpstream(() => ({ kind: "error", status: 500 }));
  const config = writeTempConfig(`
model_config:
  echo-1: echo
  shaky: [{provider: ${broken}, weight: 1}, {provider: echo, weight: 1}]
providers:
  ${broken}: {type: openai, base_url: "${faults.baseUrl}", api_key: sk-vendor-not-real}
proxy: {default_model: echo-1, max_retries: 0, cooldown: {failures: 1, seconds: 30}}
server: {watch_config: false}
store: {path: ":memory:", redis_url: "${SHARED_REDIS_URL}"}
auth:
  keys:
    - {name: ${keyName}, key: ${secret}, limits: {rpm: 10}}
    - {name: free-${run}, key: ${freeSecret}}
`);
  ports = await startReplicas(config, 3);
});

afterAll(async () => {
  killGatewayProcesses();
  await faults?.close();
  await deleteKeys(SHARED_REDIS_URL, `llm-proxy:{file:${keyName}}`);
});

function client(port: number | undefined): OpenAI {
  return new OpenAI({ apiKey: secret, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
}

describe("three replicas on one Redis", () => {
  it("rpm 10 with 30 requests spread over the three: exactly 10 succeed", async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        client(ports[index % 3])
          .chat.completions.create({ model: "echo-1", messages: [{ role: "user", content: "hi" }] })
          .then(
            () => 200,
            (error: unknown) => (error instanceof OpenAI.APIError ? (error.status ?? 0) : -1),
          ),
      ),
    );
    expect(outcomes.filter((status) => status === 200)).toHaveLength(10);
    expect(outcomes.filter((status) => status === 429)).toHaveLength(20);
  });

  it("a deployment that fails on replica 1 is skipped by replicas 2 and 3 within a second", async () => {
    const open = new OpenAI({
      apiKey: freeSecret,
      baseURL: `http://127.0.0.1:${ports[0]}/v1`,
      maxRetries: 0,
    });
    // Replica 1 until its weighted pick tries the broken deployment once (its fallback to echo still answers).
    for (let attempt = 0; attempt < 40 && faults.requests.length === 0; attempt++) {
      await open.chat.completions
        .create({ model: "shaky", messages: [{ role: "user", content: "x" }] })
        .catch(() => {});
    }
    expect(faults.requests.length, "replica 1 tried the broken deployment").toBeGreaterThan(0);
    // Well within the second the contract allows for the other replicas to hear of it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = faults.requests.length;
    // 20 requests on each other replica: with a fair coin each would try the broken deployment first about half
    // the time; shared, none does.
    for (const port of [ports[1], ports[2]]) {
      const other = new OpenAI({ apiKey: freeSecret, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
      for (let index = 0; index < 20; index++) {
        const answer = await other.chat.completions.create({
          model: "shaky",
          messages: [{ role: "user", content: "y" }],
        });
        expect(answer.choices[0]?.message.content).toBeTruthy();
      }
    }
    expect(faults.requests.length - before).toBe(0);
  });
});
