/**
 * grpc.health.v1.Health and HTTP readiness on the real gateway: Check/List report SERVING, Watch streams the
 * change to NOT_SERVING when shutdown starts and then ends (so it never holds `close()` up), unknown services follow
 * the spec (Check: NOT_FOUND; Watch: SERVICE_UNKNOWN, call kept open), and `GET /ready` flips to 503 on drain.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import Fastify from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import {
  Health,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.ts";
import { createReadiness, registerReadinessRoute } from "../../src/http/readiness.ts";
import { bufCurl } from "../helpers/buf-curl.ts";
import { ECHO_CONFIG } from "../helpers/build-app.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close().catch(() => undefined)));
});

async function gateway(): Promise<{ server: RunningServer; health: ReturnType<typeof healthClient> }> {
  const server = await startServer(ECHO_CONFIG);
  servers.push(server);
  return { server, health: healthClient(server.url) };
}

function healthClient(baseUrl: string) {
  return createClient(Health, createGrpcTransport({ baseUrl }));
}

/** Reads a Watch stream in the background, recording each status and how it ended. */
function watch(client: ReturnType<typeof healthClient>, service: string, signal?: AbortSignal) {
  const statuses: HealthCheckResponse["status"][] = [];
  let resolveFirst: () => void = () => undefined;
  const first = new Promise<void>((resolve) => {
    resolveFirst = resolve;
  });
  const ended = (async () => {
    try {
      for await (const response of client.watch({ service }, { signal })) {
        statuses.push(response.status);
        resolveFirst();
      }
      return "ok";
    } catch (error) {
      return ConnectError.from(error).code;
    }
  })();
  return { statuses, first, ended };
}

describe("grpc.health.v1.Health", () => {
  it("Check and List report SERVING for the server and ChatService; unknown services are NOT_FOUND", async () => {
    const { server, health } = await gateway();
    expect((await health.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    expect((await health.check({ service: "llmproxy.v1.ChatService" })).status).toBe(ServingStatus.SERVING);
    await expect(health.check({ service: "no.Such" })).rejects.toMatchObject({ code: Code.NotFound });
    const list = await health.list({});
    expect(Object.keys(list.statuses).sort()).toEqual(["", "llmproxy.v1.ChatService"]);
    expect(Object.values(list.statuses).map((entry) => entry.status)).toEqual([
      ServingStatus.SERVING,
      ServingStatus.SERVING,
    ]);
    // Connect over HTTP/1.1 as well (browsers, curl).
    const overConnect = createClient(
      Health,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    );
    expect((await overConnect.check({})).status).toBe(ServingStatus.SERVING);
  });

  it("Watch sends SERVING, then NOT_SERVING when shutdown starts, then ends; close() does not wait", async () => {
    const { server, health } = await gateway();
    const overall = watch(health, "");
    const unknown = watch(health, "no.Such");
    await Promise.all([overall.first, unknown.first]);
    expect(overall.statuses).toEqual([ServingStatus.SERVING]);
    expect(unknown.statuses).toEqual([ServingStatus.SERVICE_UNKNOWN]);
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await overall.ended).toBe("ok");
    expect(overall.statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    expect(await unknown.ended).toBe("ok");
    expect(unknown.statuses).toEqual([ServingStatus.SERVICE_UNKNOWN]);
  });

  it("a Watch the client cancels is released", async () => {
    const { server, health } = await gateway();
    const controller = new AbortController();
    const watching = watch(health, "llmproxy.v1.ChatService", controller.signal);
    await watching.first;
    controller.abort();
    expect(await watching.ended).toBe(Code.Canceled);
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("refuses a request over 64 KiB without leaving its stream (or shutdown) hanging", async () => {
    const { server, health } = await gateway();
    // More than HTTP/2's initial window: the client is still sending when the gateway refuses the message.
    await expect(health.check({ service: "x".repeat(200_000) })).rejects.toMatchObject({
      code: Code.ResourceExhausted,
    });
    expect((await health.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("answers buf curl with no schema (through reflection), like a gRPC probe", async () => {
    const { server } = await gateway();
    const { exitCode, stdout, stderr } = await bufCurl([
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      `${server.url}/grpc.health.v1.Health/Check`,
    ]);
    expect(exitCode, stderr).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ status: "SERVING" });
  });
});

describe("GET /ready", () => {
  it("answers 200 on the gateway, and 503 once draining", async () => {
    const { server } = await gateway();
    const response = await fetch(`${server.url}/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ready" });

    const app = Fastify();
    const readiness = createReadiness();
    registerReadinessRoute(app, readiness);
    const changes: string[] = [];
    readiness.subscribe((status) => changes.push(status));
    expect((await app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(200);
    readiness.drain();
    readiness.drain();
    const draining = await app.inject({ method: "GET", url: "/ready" });
    expect(draining.statusCode).toBe(503);
    expect(draining.json()).toEqual({ status: "draining" });
    expect(changes).toEqual(["draining"]);
    await app.close();
  });
});
