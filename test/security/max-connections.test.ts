/**
 * server.max_connections: with the cap's worth of client connections open, the next one is closed on arrival
 * (before any byte; the OpenAI SDK reports a connection error, grpc-js UNAVAILABLE), /metrics reports the open
 * connections, the cap and the refusals, and a connection is accepted again as soon as one closes.
 */
import { connect } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { APIConnectionError } from "openai";
import { Client } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcChatClient } from "../helpers/grpc-js-client.ts";
import { grpcUnary, openAIClient, sdkComplete } from "../helpers/resilience-clients.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";
import { parsePrometheusText, sampleValue } from "../telemetry/prometheus-text.ts";
import { post, sendRaw } from "./raw-http.ts";

const LIMIT = 3;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer(`
model_config: {echo-1: echo}
server: {max_connections: ${LIMIT}}
`);
});
afterAll(async () => {
  await server.close();
});

/** A connection the server has accepted: one keep-alive client that has had an answer on it. */
async function openConnection(): Promise<Client> {
  const client = new Client(server.url, { pipelining: 1 });
  const response = await client.request({ method: "GET", path: "/health" });
  expect(response.statusCode).toBe(200);
  await response.body.text();
  return client;
}

/** What a fresh connection gets when it sends a request: the bytes answered before the server closed it. */
function refusedBytes(): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(server.port, "127.0.0.1");
    let received = "";
    const timer = setTimeout(() => {
      resolve(`still open after 2 s, answered: ${received}`);
      socket.destroy();
    }, 2_000);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  });
}

async function metricsOver(client: Client): Promise<ReturnType<typeof parsePrometheusText>> {
  const response = await client.request({ method: "GET", path: "/metrics" });
  return parsePrometheusText(await response.body.text());
}

describe("server.max_connections", () => {
  it("closes connections over the cap at once, reports them in /metrics, and accepts again once one closes", async () => {
    const open = [await openConnection(), await openConnection(), await openConnection()];
    const [first, , last] = open as [Client, Client, Client];
    try {
      expect(await refusedBytes()).toBe("");
      expect(await refusedBytes()).toBe("");

      const sdk = await sdkComplete(openAIClient(server.url), "echo-1");
      expect(sdk.error).toBeInstanceOf(APIConnectionError);
      const rpc = grpcChatClient(server.port);
      try {
        expect((await grpcUnary(rpc, "echo-1")).code).toBe(grpc.status.UNAVAILABLE);
      } finally {
        rpc.close();
      }

      const samples = await metricsOver(first);
      expect(sampleValue(samples, "llm_proxy_open_connections")).toBe(LIMIT);
      expect(sampleValue(samples, "llm_proxy_max_connections")).toBe(LIMIT);
      expect(sampleValue(samples, "llm_proxy_refused_connections_total")).toBeGreaterThanOrEqual(4);
      const warned = server.logs.some((line) => String(line.msg).includes("server.max_connections reached"));
      expect(warned).toBe(true);

      await last.close();
      await expect
        .poll(async () => sampleValue(await metricsOver(first), "llm_proxy_open_connections"))
        .toBe(LIMIT - 1);
      const answer = await sendRaw(server.port, post("", { method: "GET", path: "/health", headers: [] }));
      expect(answer.status).toBe(200);
    } finally {
      await Promise.all(open.filter((client) => !client.closed).map((client) => client.close()));
    }
  });
});
