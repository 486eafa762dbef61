/**
 * The real process entry (`node src/main.ts`): serves the example config with no keys, logs the request id,
 * exits 0 on SIGTERM, rejects a bad config naming the YAML path, and serves TLS with ALPN from config
 * (HTTP/1.1 and gRPC over h2 on one port).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import {
  killGatewayProcesses,
  runGatewayToExit,
  startGatewayProcess,
  writeTempConfig,
} from "../helpers/gateway-process.ts";
import { type GrpcChatResponse, grpcChatClient } from "../helpers/grpc-js-client.ts";

afterEach(killGatewayProcesses);

describe("node src/main.ts", () => {
  it("serves the example config with no keys, logs the request id, and exits 0 on SIGTERM", async () => {
    // The example's content from a temporary folder: its store (data/llm-proxy.db beside the config) stays out of
    // the clone.
    const example = writeTempConfig(readFileSync("config/config.example.yaml", "utf8"));
    const server = await startGatewayProcess(["--config", example, "--log-level", "info"]);
    const response = await request(`http://127.0.0.1:${server.port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "rid-main-process" },
      body: JSON.stringify({ messages: [{ role: "user", content: "hello process" }] }),
    });
    const body = (await response.body.json()) as {
      model: string;
      choices: { message: { content: string } }[];
    };
    expect(response.statusCode).toBe(200);
    expect(response.headers["x-request-id"]).toBe("rid-main-process");
    expect(body.model).toBe("echo-1");
    expect(body.choices[0]?.message.content).toBe("hello process");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const logged = server.lines.filter((line) => line.includes('"requestId":"rid-main-process"'));
    // At info the request writes one line, its access line (README, Access log).
    expect(logged.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(["request completed"]);
    server.child.kill("SIGTERM");
    expect((await server.exited).code).toBe(0);
  });

  it("refuses a bad config with the YAML path and exit code 1", async () => {
    const started = await runGatewayToExit(["--config", writeTempConfig("server:\n  port: nine\n")]);
    expect(started.code).toBe(1);
    expect(started.stderr).toMatch(/server\.port/);
    expect(started.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it("prints usage and version", async () => {
    const help = await runGatewayToExit(["--help"]);
    expect(help.code).toBe(0);
    const version = await runGatewayToExit(["--version"]);
    expect(version.code).toBe(0);
    expect(help.stdout).toMatch(/--config FILE/);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("serves HTTP/1.1 and gRPC over TLS with ALPN on one port when server.tls is set", async () => {
    const certFile = join(process.cwd(), "test/fixtures/tls/test-only-localhost.cert.pem");
    const keyFile = join(process.cwd(), "test/fixtures/tls/test-only-localhost.key.pem");
    const file = writeTempConfig(
      `model_config: {echo-1: echo}\nproxy: {default_model: echo-1}\nserver: {tls: {cert_file: "${certFile}", key_file: "${keyFile}"}}\n`,
    );
    const server = await startGatewayProcess(["--config", file, "--log-level", "info"]);
    const ca = readFileSync(certFile);
    const dispatcher = new Agent({ connect: { ca } });
    const response = await request(`https://localhost:${server.port}/v1/models`, { dispatcher });
    expect(response.statusCode).toBe(200);
    expect(await response.body.json()).toMatchObject({ data: [{ id: "echo-1" }] });
    await dispatcher.close();

    const client = grpcChatClient(server.port, {
      host: "localhost",
      credentials: grpc.credentials.createSsl(ca),
    });
    const answer = await new Promise<GrpcChatResponse>((resolve, reject) =>
      client.CreateChatCompletion({ messages: [{ role: "user", content: "over tls" }] }, (error, result) =>
        error ? reject(error) : resolve(result as GrpcChatResponse),
      ),
    );
    client.close();
    expect(answer.choices?.[0]?.message?.content).toBe("over tls");
    server.child.kill("SIGTERM");
    expect((await server.exited).code).toBe(0);
  });
});
