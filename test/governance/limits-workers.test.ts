/**
 * Per-key limits with `server.workers: 2` and the real process: the counters live in the primary, so a key's rpm
 * and max_parallel hold across both workers (not twice over), and a worker that dies gives its slots back.
 */
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GatewayChild,
  killGatewayProcesses,
  waitForGateway,
  writeTempConfig,
} from "../helpers/gateway-process.ts";
import { chatOnOwnConnection, readyWorkerPids, startWorkersGateway } from "../helpers/workers-gateway.ts";

const configFile = writeTempConfig(`
model_config: {echo-1: echo, slow-1: slow}
providers: {slow: {type: echo, token_delay_ms: 100}}
proxy: {default_model: echo-1}
server: {workers: 2, watch_config: false, log_level: debug}
auth:
  keys:
    - {name: rpm-ten, key: sk-rpm-ten-00001, limits: {rpm: 10}}
    - {name: two-at-once, key: sk-two-at-once-01, limits: {max_parallel: 2}}
`);

let gateway: GatewayChild;
let port = 0;
let lines: Record<string, unknown>[] = [];

function workerPids(): Set<number> {
  return readyWorkerPids(lines);
}

/** One request of `key` on its own connection, so the cluster may hand it to either worker. */
function chat(key: string) {
  return chatOnOwnConnection(port, { model: "echo-1", key });
}

/** Opens a slow stream (100 words, 100 ms apart) and reads its head; abort() ends it. */
async function openStream(key: string) {
  const controller = new AbortController();
  const dispatcher = new Agent({ pipelining: 0 });
  const words = Array.from({ length: 100 }, (_, index) => `w${index}`).join(" ");
  const response = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    dispatcher,
    signal: controller.signal,
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: "slow-1", stream: true, messages: [{ role: "user", content: words }] }),
  });
  response.body.on("error", () => {});
  return {
    status: response.statusCode,
    requestId: String(response.headers["x-request-id"]),
    close: async () => {
      controller.abort();
      await dispatcher.destroy();
    },
  };
}

beforeAll(async () => {
  ({ gateway, port, lines } = await startWorkersGateway(configFile, 2));
});

afterAll(killGatewayProcesses);

describe("limits across two workers", () => {
  it("rpm 10 over 30 requests on both workers: exactly 10 succeed", async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, () => chat("sk-rpm-ten-00001")));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(20);
    // A worker logs the completion after the response has gone out, so the last lines may still be on their way
    // through the pipe (on a loaded machine, all of a worker's few lines): wait for the 30 before reading the pids.
    const completed = () =>
      lines.filter((line) => line.msg === "request completed" && line.url === "/v1/chat/completions");
    await expect.poll(() => completed().length, { timeout: 5_000 }).toBe(30);
    const served = new Set(completed().map((line) => line.pid));
    expect(served.size, "both workers answered").toBe(2);
  });

  it("max_parallel 2 holds across the workers, and a worker that dies gives its slots back", async () => {
    // Fresh connections, so the two streams may land on either worker.
    const held = [await openStream("sk-two-at-once-01"), await openStream("sk-two-at-once-01")];
    expect(held.map((stream) => stream.status)).toEqual([200, 200]);
    const third = await Promise.all(Array.from({ length: 6 }, () => chat("sk-two-at-once-01")));
    expect(third.map((answer) => answer.status)).toEqual([429, 429, 429, 429, 429, 429]);

    // Kill a worker while it holds a slot: the primary frees it, and the survivor admits 2 again.
    const started = (line: Record<string, unknown>) =>
      line.requestId === held[0]?.requestId && line.msg === "incoming request";
    await waitForGateway(gateway, () => lines.some(started), "the stream's first log line");
    const victim = Number(lines.find(started)?.pid);
    expect(workerPids().has(victim)).toBe(true);
    const before = workerPids().size;
    process.kill(victim, "SIGKILL");
    await Promise.all(held.map((stream) => stream.close()));
    await waitForGateway(gateway, () => workerPids().size === before + 1, "a replacement worker", 15_000);
    const again = [await openStream("sk-two-at-once-01"), await openStream("sk-two-at-once-01")];
    expect(again.map((stream) => stream.status)).toEqual([200, 200]);
    expect((await chat("sk-two-at-once-01")).status).toBe(429);
    await Promise.all(again.map((stream) => stream.close()));
    await expect.poll(async () => (await chat("sk-two-at-once-01")).status, { timeout: 5_000 }).toBe(200);
  });
});
