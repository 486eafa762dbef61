/**
 * ChatService end to end through @connectrpc/connect-node clients on real sockets: gRPC over h2c, Connect over
 * HTTP/1.1 and HTTP/2, gRPC-web over HTTP/1.1 and HTTP/2. (grpc-js and buf curl have their own files.)
 */
import { type Client, Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ChatCompletionChunk, ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import { createFakeCore, FAKE_MODELS } from "./fake-core.ts";
import { HAPPY, RATE_LIMITED, REQUEST_JSON, SLOW, UPSTREAM_5XX, within } from "./scripts.ts";
import { type GrpcTestServers, startGrpcServers } from "./test-servers.ts";

const core = createFakeCore(HAPPY);
let servers: GrpcTestServers;
const sessions: Http2SessionManager[] = [];

beforeAll(async () => {
  servers = await startGrpcServers(core);
});
afterAll(async () => {
  for (const session of sessions) session.abort();
  await servers.close();
});
beforeEach(() => {
  core.script = HAPPY;
  core.calls.length = 0;
});

function h2Session(url: string): Http2SessionManager {
  const session = new Http2SessionManager(url);
  sessions.push(session);
  return session;
}

const TRANSPORTS: readonly { readonly name: string; readonly make: () => Transport }[] = [
  {
    name: "gRPC over h2c",
    make: () => createGrpcTransport({ baseUrl: servers.h2Url, sessionManager: h2Session(servers.h2Url) }),
  },
  {
    name: "Connect over HTTP/1.1",
    make: () => createConnectTransport({ baseUrl: servers.h1Url, httpVersion: "1.1" }),
  },
  {
    name: "Connect over HTTP/2",
    make: () =>
      createConnectTransport({
        baseUrl: servers.h2Url,
        httpVersion: "2",
        sessionManager: h2Session(servers.h2Url),
      }),
  },
  {
    name: "gRPC-web over HTTP/1.1",
    make: () => createGrpcWebTransport({ baseUrl: servers.h1Url, httpVersion: "1.1" }),
  },
  {
    name: "gRPC-web over HTTP/2",
    make: () =>
      createGrpcWebTransport({
        baseUrl: servers.h2Url,
        httpVersion: "2",
        sessionManager: h2Session(servers.h2Url),
      }),
  },
];

describe.each(TRANSPORTS)("ChatService via $name", ({ name, make }) => {
  let client: Client<typeof ChatService>;
  let ridCounter = 0;
  const nextRid = () => `rid-${name.replaceAll(/\W+/g, "-")}-${++ridCounter}`;
  beforeAll(() => {
    client = createClient(ChatService, make());
  });

  it("answers CreateChatCompletion with the core's result and hands the core the request id", async () => {
    const rid = nextRid();
    let echoed: string | null = null;
    const response = await client.createChatCompletion(REQUEST_JSON_PROTO, {
      headers: { "x-request-id": rid },
      onHeader: (headers) => {
        echoed = headers.get("x-request-id");
      },
    });
    expect(echoed).toBe(rid);
    expect(response).toMatchObject({
      id: "chatcmpl-unary",
      object: "chat.completion",
      created: 1_700_000_001n,
      model: "gpt-test",
      choices: [
        {
          index: 0,
          finishReason: "end_turn",
          message: {
            role: "assistant",
            content: "Hello there",
            toolCalls: [
              { id: "call_9", type: "function", function: { name: "lookup", arguments: '{"q":"x"}' } },
            ],
          },
        },
      ],
      usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
    });
    const [call] = core.calls;
    expect(call?.method).toBe("complete");
    expect(call?.options.requestId).toBe(rid);
    expect(call?.options.signal).toBeInstanceOf(AbortSignal);
    expect(typeof call?.options.log.info).toBe("function");
    expect(call?.request).toMatchObject({
      model: "gpt-test",
      temperature: 0.5,
      maxTokens: 64,
      includeUsage: true,
    });
    expect(call?.request.messages).toEqual([
      expect.objectContaining({ role: "system", content: "Be brief." }),
      expect.objectContaining({ role: "user", content: "Weather in Paris?" }),
    ]);
  });

  it("streams role, text, tool-call deltas, finish and (asked for) usage", async () => {
    const rid = nextRid();
    let echoed: string | null = null;
    const chunks: ChatCompletionChunk[] = [];
    const stream = client.streamChatCompletion(REQUEST_JSON_PROTO, {
      headers: { "x-request-id": rid },
      onHeader: (headers) => {
        echoed = headers.get("x-request-id");
      },
    });
    for await (const chunk of stream) chunks.push(chunk);
    expect(echoed).toBe(rid);
    expect(core.calls[0]?.options.requestId).toBe(rid);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta)).toMatchObject([
      { role: "assistant", content: "Let me check" },
      {
        toolCalls: [
          { index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: "" } },
        ],
      },
      { toolCalls: [{ index: 0, function: { arguments: '{"city":' } }] },
      { toolCalls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
      {},
      undefined,
    ]);
    expect(chunks[1]?.choices[0]?.delta?.role).toBeUndefined();
    expect(chunks[4]?.choices[0]?.finishReason).toBe("tool_calls");
    expect(chunks[5]).toMatchObject({
      choices: [],
      usage: { promptTokens: 12, totalTokens: 19, cachedTokens: 2 },
    });
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({
        id: "chatcmpl-fake",
        object: "chat.completion.chunk",
        created: 1_700_000_000n,
      });
    }
  });

  it("leaves the usage chunk out when include_usage was not requested", async () => {
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of client.streamChatCompletion({
      ...REQUEST_JSON_PROTO,
      streamOptions: undefined,
    })) {
      chunks.push(chunk);
    }
    expect(chunks).toHaveLength(5);
    expect(chunks.every((chunk) => chunk.usage === undefined && chunk.choices.length === 1)).toBe(true);
  });

  it("maps a failure before the first chunk to its code, without leaking the cause, and logs it", async () => {
    core.script = { ...HAPPY, failBeforeFirst: RATE_LIMITED };
    const rid = nextRid();
    const error = await collect(
      client.streamChatCompletion(REQUEST_JSON_PROTO, { headers: { "x-request-id": rid } }),
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ code: Code.ResourceExhausted, rawMessage: RATE_LIMITED.message });
    expect(String(error)).not.toContain("secret");
    const unaryError = await client
      .createChatCompletion(REQUEST_JSON_PROTO)
      .catch((caught: unknown) => caught);
    expect(unaryError).toMatchObject({ code: Code.ResourceExhausted });
    expect(servers.logs).toContainEqual(
      expect.objectContaining({
        msg: "rpc failed",
        reqId: rid,
        kind: "rate_limited",
        grpcCode: Code.ResourceExhausted,
      }),
    );
  });

  it("ends a stream that fails midway with the mapped status after the chunks already sent", async () => {
    core.script = { ...HAPPY, failAfter: { count: 3, error: UPSTREAM_5XX } };
    const received: ChatCompletionChunk[] = [];
    const error = await collect(client.streamChatCompletion(REQUEST_JSON_PROTO), received);
    expect(received).toHaveLength(3);
    expect(error).toMatchObject({ code: Code.Unavailable, rawMessage: UPSTREAM_5XX.message });
  });

  it("rejects an invalid request with InvalidArgument before calling the core", async () => {
    const error = await client
      .createChatCompletion({ ...REQUEST_JSON_PROTO, temperature: 3 })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: Code.InvalidArgument });
    expect(String(error)).toContain("temperature");
    expect(core.calls).toHaveLength(0);
  });

  it("aborts the core's signal when the client cancels mid-stream", async () => {
    core.script = SLOW;
    const controller = new AbortController();
    const received: ChatCompletionChunk[] = [];
    const stream = client.streamChatCompletion(REQUEST_JSON_PROTO, { signal: controller.signal });
    const done = collect(stream, received, () => controller.abort());
    expect(await done).toMatchObject({ code: Code.Canceled });
    const reason = await within(
      core.calls[0]?.aborted ?? Promise.reject(new Error("no call")),
      5_000,
      "abort",
    );
    expect(reason).toMatchObject({ kind: "cancelled" });
    expect(received.length).toBeLessThan(SLOW.chunks.length);
  });

  it("lists the core's models", async () => {
    const response = await client.listModels({});
    expect(response.object).toBe("list");
    expect(response.data.map((model) => [model.id, model.ownedBy, model.object])).toEqual(
      FAKE_MODELS.map((model) => [model.id, model.ownedBy, "model"]),
    );
  });
});

describe("deadlines", () => {
  it("turns an expired grpc-timeout into DeadlineExceeded and a timeout reason for the core", async () => {
    core.script = SLOW;
    const client = createClient(
      ChatService,
      createGrpcTransport({ baseUrl: servers.h2Url, sessionManager: h2Session(servers.h2Url) }),
    );
    // The header alone (no client-side timer), so the server's deadline fires first, not a client RST_STREAM.
    const error = await collect(
      client.streamChatCompletion(REQUEST_JSON_PROTO, { headers: { "grpc-timeout": "150m" } }),
    );
    expect(error).toMatchObject({ code: Code.DeadlineExceeded });
    const reason = await within(
      core.calls[0]?.aborted ?? Promise.reject(new Error("no call")),
      5_000,
      "abort",
    );
    expect(reason).toMatchObject({ kind: "timeout" });
  });
});

/** Reads a stream to its end; returns the error it ended with (undefined if none). */
async function collect(
  stream: AsyncIterable<ChatCompletionChunk>,
  into: ChatCompletionChunk[] = [],
  onFirst?: () => void,
): Promise<unknown> {
  try {
    for await (const chunk of stream) {
      into.push(chunk);
      if (into.length === 1) onFirst?.();
    }
    return undefined;
  } catch (error) {
    return error;
  }
}

/** REQUEST_JSON in protobuf-es init form. */
const REQUEST_JSON_PROTO = {
  model: REQUEST_JSON.model,
  messages: REQUEST_JSON.messages.map((message) => ({ role: message.role, content: message.content })),
  temperature: REQUEST_JSON.temperature,
  maxTokens: REQUEST_JSON.max_tokens,
  streamOptions: { includeUsage: true },
};
