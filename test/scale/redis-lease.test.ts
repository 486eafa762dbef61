/**
 * A replica killed while it holds a key's max_parallel slot: the others refuse the key while the slot's lease
 * runs (proxy.timeout + 5 s: no request can outlive it) and admit it again once it ended, without anyone settling.
 * Two gateway processes on the shared Redis; the key's name is random and its Redis keys are deleted after.
 */
import { randomBytes } from "node:crypto";
import OpenAI from "openai";
import { Agent, request } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { killGatewayProcesses, startGatewayProcess, writeTempConfig } from "../helpers/gateway-process.ts";
import { deleteKeys, SHARED_REDIS_URL } from "../helpers/redis-server.ts";

const run = randomBytes(4).toString("hex");
const keyName = `one-at-a-time-${run}`;
const secret = `sk-scale-${run}-one-at-a-time`;

afterAll(async () => {
  killGatewayProcesses();
  await deleteKeys(SHARED_REDIS_URL, `llm-proxy:{file:${keyName}}`);
});

async function chat(port: number): Promise<number> {
  const client = new OpenAI({ apiKey: secret, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  return client.chat.completions
    .create({ model: "echo-1", messages: [{ role: "user", content: "hi" }] })
    .then(
      () => 200,
      (error: unknown) => (error instanceof OpenAI.APIError ? (error.status ?? 0) : -1),
    );
}

describe("a replica killed with a slot held", () => {
  it("its slot comes back when the lease ends", async () => {
    const config = writeTempConfig(`
model_config: {echo-1: echo, slow-1: slow}
providers: {slow: {type: echo, token_delay_ms: 100}}
proxy: {default_model: echo-1, timeout: 1}
server: {watch_config: false}
store: {path: ":memory:", redis_url: "${SHARED_REDIS_URL}"}
auth:
  keys: [{name: ${keyName}, key: ${secret}, limits: {max_parallel: 1}}]
`);
    const doomed = await startGatewayProcess(["--config", config]);
    const survivor = await startGatewayProcess(["--config", config]);
    // A long stream on the doomed replica takes the key's one slot.
    const words = Array.from({ length: 100 }, (_, index) => `w${index}`).join(" ");
    const dispatcher = new Agent();
    const stream = await request(`http://127.0.0.1:${doomed.port}/v1/chat/completions`, {
      method: "POST",
      dispatcher,
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: JSON.stringify({ model: "slow-1", stream: true, messages: [{ role: "user", content: words }] }),
    });
    expect(stream.statusCode).toBe(200);
    const admittedAt = performance.now();
    stream.body.on("error", () => {});
    doomed.child.kill("SIGKILL");
    await doomed.exited;
    await dispatcher.destroy();

    expect(await chat(survivor.port), "the dead replica's slot still counts").toBe(429);
    let status = 429;
    while (status === 429 && performance.now() - admittedAt < 15_000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = await chat(survivor.port);
    }
    const back = performance.now() - admittedAt;
    expect(status).toBe(200);
    // The lease is proxy.timeout (1 s) + 5 s from the admission.
    expect(back).toBeGreaterThan(5_000);
    expect(back).toBeLessThan(9_000);
  });
});
