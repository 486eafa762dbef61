/**
 * The walking skeleton end to end: one gateway port, a mock OpenAI-compatible vendor on loopback, and the
 * real clients users run (openai SDK, @grpc/grpc-js, Connect over HTTP/1.1 and HTTP/2, gRPC-web, buf curl).
 * Each asserts what the client saw, what the vendor received, and that the x-request-id is the same in the
 * response, the log lines and the upstream request.
 */
import { createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import { bufCurl, GRPC_WITH_PROTO_SCHEMA, parseBufMessages } from "../helpers/buf-curl.ts";
import {
  collectMessages,
  type GrpcChatResponse,
  grpcChatClient,
  requestIdMetadata,
} from "../helpers/grpc-js-client.ts";
import { startMockOpenAIUpstream } from "../helpers/mock-openai-upstream.ts";
import type { MockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const SECRET = "sk-test-never-shown-0123456789";
let upstream: MockUpstream;
let server: RunningServer;

beforeAll(async () => {
  upstream = await startMockOpenAIUpstream();
  server = await startServer(
    `
model_config: {gpt-test: vendor, fail-429: vendor, fail-401: vendor, echo-1: echo}
model_routes:
  vendor: {gpt-test: upstream-gpt, fail-429: status-429, fail-401: status-401}
providers:
  vendor: {type: openai, base_url: "${upstream.baseUrl}", api_key_env: VENDOR_KEY}
proxy: {default_model: gpt-test, max_retries: 0}
`,
    { keys: { VENDOR_KEY: SECRET } },
  );
});
afterAll(async () => {
  await server.close();
  await upstream.close();
});

/** Asserts the id reached the vendor and appears on the gateway's log lines. */
function expectRequestIdTravelled(requestId: string): void {
  const upstreamRequest = upstream.requests.find((request) => request.headers["x-request-id"] === requestId);
  expect(upstreamRequest, "upstream saw the request id").toBeDefined();
  expect(upstreamRequest?.headers.authorization).toBe(`Bearer ${SECRET}`);
  expect(upstreamRequest?.body.model).toBe("upstream-gpt");
  const lines = server.logs.filter((line) => line.requestId === requestId);
  // The access line carries it (the only line at info: README, Access log).
  expect(
    lines.map((line) => line.msg),
    "log lines carry the request id",
  ).toEqual(["request completed"]);
}

const messages = [
  { role: "system" as const, content: "You are terse." },
  { role: "user" as const, content: "Hello from the gateway" },
];

describe("openai SDK through the facade", () => {
  const client = () => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "client-key", maxRetries: 0 });

  it("completes without streaming", async () => {
    const completion = await client().chat.completions.create({ model: "gpt-test", messages });
    expect(completion.choices[0]?.message.content).toBe("Hello from the gateway");
    expect(completion.model).toBe("gpt-test");
    expect(completion.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
  });

  it("streams, with usage only when include_usage is set, and carries the request id", async () => {
    const { data: stream, response } = await client()
      .chat.completions.create(
        { model: "gpt-test", messages, stream: true, stream_options: { include_usage: true } },
        { headers: { "x-request-id": "rid-openai-sdk" } },
      )
      .withResponse();
    expect(response.headers.get("x-request-id")).toBe("rid-openai-sdk");
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("Hello from the gateway");
    expect(usage).toMatchObject({ total_tokens: 18 });
    expectRequestIdTravelled("rid-openai-sdk");

    let sawUsage = false;
    for await (const chunk of await client().chat.completions.create({
      model: "gpt-test",
      messages,
      stream: true,
    })) {
      if (chunk.usage) sawUsage = true;
    }
    expect(sawUsage).toBe(false);
  });

  it("reassembles two streamed tool calls with the SDK's stream helper", async () => {
    const tools = ["get_weather", "get_time"].map((name) => ({
      type: "function" as const,
      function: { name, parameters: { type: "object", properties: { city: { type: "string" } } } },
    }));
    const runner = client().chat.completions.stream({ model: "gpt-test", messages, tools });
    const final = await runner.finalChatCompletion();
    const choice = final.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(
      choice?.message.tool_calls?.map(
        (call) => call.type === "function" && [call.id, call.function.name, call.function.arguments],
      ),
    ).toEqual([
      ["call_0", "get_weather", '{"city":"Paris"}'],
      ["call_1", "get_time", '{"city":"Paris"}'],
    ]);
    const sent = upstream.requests.at(-1)?.body.tools as { function: { name: string } }[];
    expect(sent.map((tool) => tool.function.name)).toEqual(["get_weather", "get_time"]);
  });

  it("surfaces upstream errors as the SDK's APIError with the status, without the key", async () => {
    const rateLimited = await client()
      .chat.completions.create({ model: "fail-429", messages })
      .catch((error: unknown) => error);
    expect(rateLimited).toBeInstanceOf(OpenAI.RateLimitError);
    const unauthorized = await client()
      .chat.completions.create({ model: "fail-401", messages })
      .catch((error: unknown) => error);
    expect(unauthorized).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(String((unauthorized as Error).message)).not.toContain(SECRET);
    const unknown = await client()
      .chat.completions.create({ model: "nope", messages })
      .catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    // The gateway keeps serving after errors.
    const after = await client().chat.completions.create({ model: "echo-1", messages });
    expect(after.choices[0]?.message.content).toBe("Hello from the gateway");
  });
});

describe("gRPC clients on the same port", () => {
  it("@grpc/grpc-js: unary and server streaming, with x-request-id in metadata both ways", async () => {
    const client = grpcChatClient(server.port);
    try {
      const call = client.StreamChatCompletion(
        { model: "gpt-test", messages },
        requestIdMetadata("rid-grpc-js"),
      );
      const headerId = new Promise<unknown>((resolve) =>
        call.on("metadata", (received) => resolve(received.get("x-request-id")[0])),
      );
      const chunks = await collectMessages(call);
      expect(await headerId).toBe("rid-grpc-js");
      expect(chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? "").join("")).toBe(
        "Hello from the gateway",
      );
      expect(chunks.at(-1)?.choices?.[0]?.finish_reason).toBe("stop");
      expectRequestIdTravelled("rid-grpc-js");

      const unary = await new Promise<GrpcChatResponse>((resolve, reject) =>
        client.CreateChatCompletion({ model: "gpt-test", messages }, (error, response) =>
          error ? reject(error) : resolve(response as GrpcChatResponse),
        ),
      );
      expect(unary.choices?.[0]?.message?.content).toBe("Hello from the gateway");
      const failure = await new Promise<grpc.ServiceError>((resolve) =>
        client.CreateChatCompletion({ model: "nope", messages }, (error) =>
          resolve(error as grpc.ServiceError),
        ),
      );
      expect(failure.code).toBe(grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
  });

  const transports = {
    "Connect over HTTP/1.1": () => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    "Connect over HTTP/2": () => createConnectTransport({ baseUrl: server.url, httpVersion: "2" }),
    "gRPC-web over HTTP/1.1": () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    "gRPC (connect-node) over h2c": () => createGrpcTransport({ baseUrl: server.url }),
  };
  for (const [name, makeTransport] of Object.entries(transports)) {
    it(`${name}: streams a chat`, async () => {
      const client = createClient(ChatService, makeTransport());
      const requestId = `rid-${name.replace(/[^a-z0-9]+/gi, "-")}`;
      let text = "";
      let finish: string | undefined;
      for await (const chunk of client.streamChatCompletion(
        { model: "gpt-test", messages, streamOptions: { includeUsage: true } },
        { headers: { "x-request-id": requestId } },
      )) {
        text += chunk.choices[0]?.delta?.content ?? "";
        finish = chunk.choices[0]?.finishReason ?? finish;
        if (chunk.usage) expect(chunk.usage.totalTokens).toBe(18);
      }
      expect(text).toBe("Hello from the gateway");
      expect(finish).toBe("stop");
      expectRequestIdTravelled(requestId);
    });
  }
});

describe("buf curl on the same port", () => {
  it("streams a chat with --schema proto over gRPC (h2c)", async () => {
    const { exitCode, stdout, stderr } = await bufCurl([
      ...GRPC_WITH_PROTO_SCHEMA,
      "-v",
      "-H",
      "x-request-id: rid-buf-curl",
      "-d",
      JSON.stringify({ model: "gpt-test", messages: [{ role: "user", content: "Hello from buf" }] }),
      `${server.url}/llmproxy.v1.ChatService/StreamChatCompletion`,
    ]);
    expect(exitCode, stderr).toBe(0);
    const chunks = parseBufMessages(stdout) as {
      choices?: { delta?: { content?: string }; finishReason?: string }[];
    }[];
    expect(chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? "").join("")).toBe("Hello from buf");
    expect(chunks.at(-1)?.choices?.[0]?.finishReason).toBe("stop");
    expect(stderr).toMatch(/x-request-id: rid-buf-curl/i);
    expectRequestIdTravelled("rid-buf-curl");
  });
});
