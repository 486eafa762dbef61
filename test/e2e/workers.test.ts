/**
 * `server.workers: 2` with the real process: both workers serve the one port on both protocols, a crashed
 * worker is replaced, a worker killed under load leaves no client connection hanging, a reload through one
 * worker reaches every worker, and SIGTERM drains and exits 0.
 */
import { writeFileSync } from "node:fs";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import {
  type GatewayChild,
  killGatewayProcesses,
  waitForGateway,
  writeTempConfig,
} from "../helpers/gateway-process.ts";
import { chatOnOwnConnection, readyWorkerPids, startWorkersGateway } from "../helpers/workers-gateway.ts";

const configWith = (models: string) =>
  `model_config: {${models}, slow-1: slow}\nproviders: {slow: {type: echo, token_delay_ms: 20}}\n` +
  `proxy: {default_model: echo-1}\nserver: {workers: 2, watch_config: false}\n`;
const configFile = writeTempConfig(configWith("echo-1: echo"));

let gateway: GatewayChild;
let port = 0;
let lines: Record<string, unknown>[] = [];

function workerPids(): Set<number> {
  return readyWorkerPids(lines);
}

/** One request on a fresh connection, so the cluster may hand it to either worker. */
function chat(model: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return chatOnOwnConnection(port, { model, timeoutMs });
}

beforeAll(async () => {
  ({ gateway, port, lines } = await startWorkersGateway(configFile, 2));
});

afterAll(killGatewayProcesses);

describe("server.workers: 2", () => {
  it("serves HTTP and gRPC from both workers on one port", async () => {
    for (let round = 0; round < 30; round++) expect((await chat("echo-1")).status).toBe(200);
    const served = new Set(
      lines.filter((line) => line.url === "/v1/chat/completions").map((line) => Number(line.pid)),
    );
    expect(served).toEqual(workerPids());
    const client = createClient(ChatService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
    const answer = await client.createChatCompletion({ messages: [{ role: "user", content: "over grpc" }] });
    expect(answer.choices[0]?.message?.content).toBe("over grpc");
  });

  it("replaces a worker that dies", async () => {
    const [victim] = [...workerPids()];
    process.kill(Number(victim), "SIGKILL");
    await waitForGateway(gateway, () => workerPids().size === 3, "a replacement worker");
    expect((await chat("echo-1")).status).toBe(200);
  });

  // The primary accepts each connection and hands it to a worker over IPC; one in flight to the killed worker
  // used to stay open, unread, until the client's timeout (src/cluster/undelivered-connections.ts).
  it("kill -9 of a worker under load: every request completes or fails fast, none waits for its timeout", async () => {
    const clientTimeoutMs = 5_000;
    const outcomes: { ms: number; status: number | string }[] = [];
    let loading = true;
    const client = async () => {
      while (loading) {
        const started = performance.now();
        const status = await chat("slow-1", clientTimeoutMs).then(
          (answer) => answer.status,
          (error: unknown) => String((error as { code?: unknown }).code ?? error),
        );
        outcomes.push({ ms: performance.now() - started, status });
      }
    };
    const clients = Array.from({ length: 32 }, client);
    await new Promise((resolve) => setTimeout(resolve, 800));
    const before = workerPids().size;
    process.kill(Math.max(...workerPids()), "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 800));
    loading = false;
    await Promise.all(clients);
    const failed = outcomes.filter((outcome) => outcome.status !== 200);
    expect(failed.length, "the kill cut no connection: the test proves nothing").toBeGreaterThan(0);
    expect(outcomes.length - failed.length).toBeGreaterThan(100);
    expect(outcomes.filter((outcome) => outcome.ms > 2_000)).toEqual([]);
    await waitForGateway(gateway, () => workerPids().size === before + 1, "a replacement worker");
  });

  it("applies a reload made through one worker to every worker", async () => {
    writeFileSync(configFile, configWith("echo-1: echo, echo-new: echo"));
    const reload = await request(`http://127.0.0.1:${port}/config/reload`, { method: "POST" });
    const reloadBody = await reload.body.text();
    expect(reload.statusCode, reloadBody).toBe(200);
    await waitForGateway(
      gateway,
      () => lines.filter((line) => line.msg === "cluster reload").length >= 1,
      "the relayed reload",
    );
    for (let round = 0; round < 20; round++) {
      const answer = await chat("echo-new");
      expect(answer.status, answer.body).toBe(200);
    }
  });

  it("drains and exits 0 on SIGTERM", async () => {
    gateway.child.kill("SIGTERM");
    expect((await gateway.exited).code).toBe(0);
    expect(lines.some((line) => line.msg === "all workers exited")).toBe(true);
  });
});
