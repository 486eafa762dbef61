/**
 * deploy/compose.yaml's stack without containers: three gateway processes started from the shipped
 * deploy/config/llm-proxy.yaml, on the machine's Redis and a scratch PostgreSQL database instead of the compose
 * services `redis` and `postgres` (only those two URLs change) and with the compose file's environment less its
 * OTEL_* variables (no Jaeger here), behind deploy/nginx/compose.conf run by Debian's
 * nginx (only its upstream servers, listen ports and log paths change; see test/deploy/nginx-compose.test.ts for
 * why). The replicas come up ready with Redis and PostgreSQL up, the compose healthcheck passes on each, chat
 * answers and streams through nginx on both protocols reach all three, and a replica stopped as compose stops it
 * (SIGTERM) drains and exits 0 while nginx keeps serving from the other two.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import {
  type GatewayChild,
  killGatewayProcesses,
  listeningPort,
  spawnGateway,
  waitForGateway,
  writeTempConfig,
} from "../helpers/gateway-process.ts";
import { collectMessages, grpcChatClient, requestIdMetadata } from "../helpers/grpc-js-client.ts";
import { type LoopbackSite, startSiteOnLoopback } from "../helpers/nginx.ts";
import { createScratchDatabase, type ScratchDatabase } from "../helpers/private-postgres.ts";
import { SHARED_REDIS_URL } from "../helpers/redis-server.ts";

const DEPLOY = new URL("../../deploy/", import.meta.url);
const REPLICAS = ["llm-proxy-1", "llm-proxy-2", "llm-proxy-3"] as const;

let database: ScratchDatabase | undefined;
let gateways: (GatewayChild & { readonly port: number })[] = [];
let nginx: LoopbackSite;

/** The shipped config with the compose services' URLs replaced by this machine's; each must be in the file. */
function replicaConfig(postgresUrl: string): string {
  let text = readFileSync(new URL("config/llm-proxy.yaml", DEPLOY), "utf8");
  for (const [from, to] of [
    ['"redis://redis:6379"', `"${SHARED_REDIS_URL}"`],
    ['"postgres://llm_proxy:llm_proxy@postgres:5432/llm_proxy"', `"${postgresUrl}"`],
  ] as const) {
    expect(text).toContain(from);
    text = text.replace(from, to);
  }
  return text;
}

/** The first replica's service in deploy/compose.yaml (the three share one definition). */
const replicaService = z
  .object({
    services: z.object({
      "llm-proxy-1": z.object({
        environment: z.record(z.string(), z.string()),
        healthcheck: z.object({ test: z.array(z.string()) }),
      }),
    }),
  })
  .parse(parse(readFileSync(new URL("compose.yaml", DEPLOY), "utf8"), { merge: true })).services[
  "llm-proxy-1"
];

/** The replicas' healthcheck argv, without its leading "CMD". */
function composeHealthcheck(): string[] {
  return replicaService.healthcheck.test.slice(1);
}

/** The replicas' environment, less the OTEL_* variables that point at the stack's Jaeger (no such host here). */
function composeEnvironment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(replicaService.environment).filter(([name]) => !name.startsWith("OTEL_")),
  );
}

/** Runs the compose healthcheck against a replica on `port` (9000 inside the container); its exit code. */
function runHealthcheck(port: number): Promise<number> {
  const [command = "", ...args] = composeHealthcheck().map((arg) =>
    arg.replace("http://127.0.0.1:9000/", `http://127.0.0.1:${port}/`),
  );
  return new Promise((resolve) => {
    execFile(command === "node" ? process.execPath : command, args, { timeout: 10_000 }, (error) =>
      resolve(error === null ? 0 : typeof error.code === "number" ? error.code : 1),
    );
  });
}

/** One replica on a port from the OS; three Node processes starting at once on a busy machine may take a while. */
async function startReplica(config: string): Promise<GatewayChild & { readonly port: number }> {
  const gateway = spawnGateway(["--config", config, "--host", "127.0.0.1", "--port", "0"], {
    env: { ...process.env, ...composeEnvironment() },
  });
  await waitForGateway(gateway, () => listeningPort(gateway.lines) !== undefined, "a listening line", 40_000);
  return { ...gateway, port: listeningPort(gateway.lines) ?? 0 };
}

beforeAll(async () => {
  database = await createScratchDatabase();
  const config = writeTempConfig(replicaConfig(database.url));
  // Together, as `docker compose up` starts them: the migrations take turns under their lock.
  gateways = await Promise.all(REPLICAS.map(() => startReplica(config)));
  nginx = await startSiteOnLoopback(
    new URL("nginx/compose.conf", DEPLOY),
    REPLICAS.map((name, index) => [`${name}:9000`, gateways[index]?.port] as const),
  );
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  killGatewayProcesses();
  await database?.drop();
});

/**
 * How many of `ids` each replica logged as completed, once all of them are in the logs (a child's stdout may
 * arrive a moment after its answer).
 */
async function servedBy(ids: readonly string[]): Promise<number[]> {
  const counts = (): number[] =>
    gateways.map(
      (gateway) =>
        gateway.lines.filter(
          (line) =>
            line.includes('"msg":"request completed"') &&
            ids.some((id) => line.includes(`"requestId":"${id}"`)),
        ).length,
    );
  for (let waited = 0; waited < 3_000; waited += 25) {
    if (counts().reduce((sum, count) => sum + count, 0) >= ids.length) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return counts();
}

async function chat(id: string): Promise<number> {
  const response = await fetch(`${nginx.httpUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": id },
    body: JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "hi" }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe("the compose stack on loopback (deploy/compose.yaml without containers)", () => {
  it("starts three replicas from the shipped config, ready with Redis and PostgreSQL up, and the compose healthcheck passes", async () => {
    for (const gateway of gateways) {
      const ready = await fetch(`http://127.0.0.1:${gateway.port}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ready", stores: { redis: "up", postgres: "up" } });
      expect(await runHealthcheck(gateway.port)).toBe(0);
    }
  });

  it("serves JSON, SSE and gRPC through nginx from all three replicas", async () => {
    const ids = Array.from({ length: 6 }, (_, index) => `rid-stack-${index}`);
    for (const id of ids) expect(await chat(id)).toBe(200);
    expect((await servedBy(ids)).every((count) => count > 0)).toBe(true);

    const stream = await fetch(`${nginx.httpUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "echo-slow",
        messages: [{ role: "user", content: "a b c" }],
        stream: true,
      }),
    });
    expect(await stream.text()).toContain("data: [DONE]");

    const client = grpcChatClient(nginx.grpcPort);
    try {
      const chunks = await collectMessages(
        client.StreamChatCompletion(
          { model: "echo-1", messages: [{ role: "user", content: "Hello there" }] },
          requestIdMetadata("rid-stack-grpc"),
        ),
      );
      expect(chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? "").join("")).toBe("Hello there");
    } finally {
      client.close();
    }
  });

  it("a replica stopped with SIGTERM drains and exits 0; nginx serves on from the other two", async () => {
    const stopped = gateways[0];
    if (stopped === undefined) throw new Error("three replicas");
    stopped.child.kill("SIGTERM");
    const { code } = await stopped.exited;
    expect(code).toBe(0);
    expect(await runHealthcheck(stopped.port)).toBe(1);
    const ids = Array.from({ length: 6 }, (_, index) => `rid-stack-after-${index}`);
    for (const id of ids) expect(await chat(id)).toBe(200);
    const served = await servedBy(ids);
    expect(served[0]).toBe(0);
    expect((served[1] ?? 0) + (served[2] ?? 0)).toBe(ids.length);
  });
});
