/**
 * ChatService through the reference gRPC stack: @grpc/grpc-js with @grpc/proto-loader reading
 * proto/llmproxy/v1/chat.proto (no generated code), over h2c with prior knowledge.
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { requestIdMetadata } from "../helpers/grpc-js-client.ts";
import { createFakeCore } from "./fake-core.ts";
import { HAPPY, RATE_LIMITED, REQUEST_JSON, SLOW, UPSTREAM_5XX, within } from "./scripts.ts";
import { type GrpcTestServers, startGrpcServers } from "./test-servers.ts";

const PROTO_ROOT = fileURLToPath(new URL("../../proto", import.meta.url));

type Method = protoLoader.MethodDefinition<object, object>;

/** Outcome of a server-streaming call. */
interface StreamOutcome {
  readonly messages: Record<string, unknown>[];
  readonly status: grpc.StatusObject;
  readonly headers: grpc.Metadata | undefined;
}

const core = createFakeCore(HAPPY);
let servers: GrpcTestServers;
let client: grpc.Client;
let methods: { create: Method; stream: Method; list: Method };

beforeAll(async () => {
  servers = await startGrpcServers(core);
  const definition = await protoLoader.load("llmproxy/v1/chat.proto", {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
    longs: String,
    defaults: false,
    oneofs: true,
  });
  const service = definition["llmproxy.v1.ChatService"];
  if (service === undefined || "format" in service)
    throw new Error("llmproxy.v1.ChatService not in the proto");
  const method = (name: string): Method => {
    const found = service[name];
    if (found === undefined) throw new Error(`${name} not in ChatService`);
    return found;
  };
  methods = {
    create: method("CreateChatCompletion"),
    stream: method("StreamChatCompletion"),
    list: method("ListModels"),
  };
  client = new grpc.Client(new URL(servers.h2Url).host, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client.close();
  await servers.close();
});
beforeEach(() => {
  core.script = HAPPY;
  core.calls.length = 0;
});

function unary(method: Method, request: object, metadata = new grpc.Metadata()) {
  return new Promise<{ response?: object; error?: grpc.ServiceError; headers?: grpc.Metadata }>((resolve) => {
    let headers: grpc.Metadata | undefined;
    const call = client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      metadata,
      (error, response) => resolve({ response, error: error ?? undefined, headers }),
    );
    call.on("metadata", (received) => {
      headers = received;
    });
  });
}

function serverStream(
  request: object,
  metadata = new grpc.Metadata(),
  onMessage?: (call: grpc.ClientReadableStream<object>) => void,
) {
  return new Promise<StreamOutcome>((resolve) => {
    const messages: Record<string, unknown>[] = [];
    let headers: grpc.Metadata | undefined;
    const call = client.makeServerStreamRequest(
      methods.stream.path,
      methods.stream.requestSerialize,
      methods.stream.responseDeserialize,
      request,
      metadata,
    );
    call.on("metadata", (received) => {
      headers = received;
    });
    call.on("data", (message: Record<string, unknown>) => {
      messages.push(message);
      onMessage?.(call);
    });
    call.on("error", () => undefined); // the status event carries the outcome
    call.on("status", (status) => resolve({ messages, status, headers }));
  });
}

describe("ChatService via @grpc/grpc-js", () => {
  it("answers the unary call and echoes x-request-id in the response headers", async () => {
    const { response, error, headers } = await unary(
      methods.create,
      REQUEST_JSON,
      requestIdMetadata("rid-grpc-js-1"),
    );
    expect(error).toBeUndefined();
    expect(headers?.get("x-request-id")).toEqual(["rid-grpc-js-1"]);
    expect(core.calls[0]?.options.requestId).toBe("rid-grpc-js-1");
    expect(response).toMatchObject({
      id: "chatcmpl-unary",
      object: "chat.completion",
      created: "1700000001",
      choices: [{ finish_reason: "end_turn", message: { role: "assistant", content: "Hello there" } }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
  });

  it("streams the chunks with snake_case fields and an OK status", async () => {
    const { messages, status, headers } = await serverStream(
      REQUEST_JSON,
      requestIdMetadata("rid-grpc-js-2"),
    );
    expect(status.code).toBe(grpc.status.OK);
    expect(headers?.get("x-request-id")).toEqual(["rid-grpc-js-2"]);
    expect(messages).toHaveLength(6);
    expect(messages[0]).toMatchObject({
      object: "chat.completion.chunk",
      // proto3 zero values (index 0) are absent with defaults: false
      choices: [{ delta: { role: "assistant", content: "Let me check" } }],
    });
    expect(messages[1]).toMatchObject({
      choices: [
        {
          delta: {
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "get_weather", arguments: "" } },
            ],
          },
        },
      ],
    });
    expect(messages[4]).toMatchObject({ choices: [{ finish_reason: "tool_calls" }] });
    expect(messages[5]).toMatchObject({ usage: { prompt_tokens: 12, cached_tokens: 2 } });
  });

  it("reports a failure before the first chunk as a gRPC status", async () => {
    core.script = { ...HAPPY, failBeforeFirst: RATE_LIMITED };
    const { messages, status } = await serverStream(REQUEST_JSON);
    expect(messages).toHaveLength(0);
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.details).toBe(RATE_LIMITED.message);
    const { error } = await unary(methods.create, REQUEST_JSON);
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it("ends a stream failing midway with UNAVAILABLE after the chunks already sent", async () => {
    core.script = { ...HAPPY, failAfter: { count: 2, error: UPSTREAM_5XX } };
    const { messages, status } = await serverStream(REQUEST_JSON);
    expect(messages).toHaveLength(2);
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
  });

  it("reports a missing tool_call_id as INVALID_ARGUMENT", async () => {
    const { error } = await unary(methods.create, { messages: [{ role: "tool", content: "42" }] });
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toContain("tool_call_id");
  });

  it("propagates a client cancel to the core's signal", async () => {
    core.script = SLOW;
    const { messages, status } = await serverStream(REQUEST_JSON, undefined, (call) => call.cancel());
    expect(status.code).toBe(grpc.status.CANCELLED);
    expect(messages.length).toBeLessThan(SLOW.chunks.length);
    const reason = await within(
      core.calls[0]?.aborted ?? Promise.reject(new Error("no call")),
      5_000,
      "abort",
    );
    expect(reason).toMatchObject({ kind: "cancelled" });
  });

  it("lists the models", async () => {
    const { response } = await unary(methods.list, {});
    expect(response).toMatchObject({
      object: "list",
      data: [{ id: "gpt-test", owned_by: "openai" }, { id: "claude-test" }],
    });
  });
});
