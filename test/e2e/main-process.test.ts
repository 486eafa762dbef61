/**
 * The real process entry (`node src/main.ts`): serves the example config with no keys, logs the request id,
 * exits 0 on SIGTERM, rejects a bad config naming the YAML path, and serves TLS with ALPN from config
 * (HTTP/1.1 and gRPC over h2 on one port).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";

interface Started {
  readonly child: ChildProcess;
  readonly port: number;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

function run(args: string[]): {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ["src/main.ts", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const lines: string[] = [];
  let stderr = "";
  child.stdout
    ?.setEncoding("utf8")
    .on("data", (text: string) => lines.push(...text.split("\n").filter(Boolean)));
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, lines, stderr: () => stderr, exited };
}

async function start(args: string[]): Promise<Started> {
  const started = run([...args, "--host", "127.0.0.1", "--port", "0"]);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const listening = started.lines
      .map((line) => /listening at https?:\/\/127\.0\.0\.1:(\d+)/.exec(line))
      .find(Boolean);
    if (listening?.[1] !== undefined) return { ...started, port: Number(listening[1]) };
    if (Date.now() > deadline || started.child.exitCode !== null)
      throw new Error(`did not start: ${started.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("node src/main.ts", () => {
  it("serves the example config with no keys, logs the request id, and exits 0 on SIGTERM", async () => {
    const server = await start(["--config", "config/config.example.yaml", "--log-level", "info"]);
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
    expect(logged.length).toBeGreaterThanOrEqual(2);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  it("refuses a bad config with the YAML path and exit code 1", async () => {
    const directory = mkdtempSync(join(tmpdir(), "llm-proxy-"));
    const file = join(directory, "bad.yaml");
    writeFileSync(file, "server:\n  port: nine\n");
    const started = run(["--config", file]);
    expect(await started.exited).toBe(1);
    expect(started.stderr()).toMatch(/server\.port/);
    expect(started.stderr()).not.toMatch(/at .*\.ts:\d+/);
  });

  it("prints usage and version", async () => {
    const help = run(["--help"]);
    expect(await help.exited).toBe(0);
    const version = run(["--version"]);
    expect(await version.exited).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(help.lines.join("\n")).toMatch(/--config FILE/);
    expect(version.lines.join("")).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("serves HTTP/1.1 and gRPC over TLS with ALPN on one port when server.tls is set", async () => {
    const directory = mkdtempSync(join(tmpdir(), "llm-proxy-"));
    const file = join(directory, "tls.yaml");
    const certFile = join(process.cwd(), "test/fixtures/tls/test-only-localhost.cert.pem");
    const keyFile = join(process.cwd(), "test/fixtures/tls/test-only-localhost.key.pem");
    writeFileSync(
      file,
      `model_config: {echo-1: echo}\nproxy: {default_model: echo-1}\nserver: {tls: {cert_file: "${certFile}", key_file: "${keyFile}"}}\n`,
    );
    const server = await start(["--config", file, "--log-level", "info"]);
    const ca = readFileSync(certFile);
    const dispatcher = new Agent({ connect: { ca } });
    const response = await request(`https://localhost:${server.port}/v1/models`, { dispatcher });
    expect(response.statusCode).toBe(200);
    expect(await response.body.json()).toMatchObject({ data: [{ id: "echo-1" }] });
    await dispatcher.close();

    const definition = protoLoader.loadSync("proto/llmproxy/v1/chat.proto", { keepCase: true });
    const proto = grpc.loadPackageDefinition(definition) as unknown as {
      llmproxy: {
        v1: { ChatService: new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client };
      };
    };
    const client = new proto.llmproxy.v1.ChatService(
      `localhost:${server.port}`,
      grpc.credentials.createSsl(ca),
    ) as grpc.Client & {
      CreateChatCompletion(
        request: object,
        callback: (error: grpc.ServiceError | null, response?: unknown) => void,
      ): void;
    };
    const answer = await new Promise<{ choices: { message: { content: string } }[] }>((resolve, reject) =>
      client.CreateChatCompletion({ messages: [{ role: "user", content: "over tls" }] }, (error, result) =>
        error ? reject(error) : resolve(result as { choices: { message: { content: string } }[] }),
      ),
    );
    client.close();
    expect(answer.choices[0]?.message.content).toBe("over tls");
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });
});
