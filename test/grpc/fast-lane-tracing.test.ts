/**
 * With tracing on, plain gRPC chat calls still take the fast lane: its span hook starts each call's span before the
 * core runs and ends it once, with the call's status; Connect's interceptor sees only what Connect's handler serves
 * (here a Connect-protocol call). test/telemetry/tracing-e2e.test.ts checks the spans themselves end to end.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import type { Code, Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CreateChatCompletionRequestSchema } from "../../gen/llmproxy/v1/chat_pb.ts";
import { envelope } from "../security/raw-grpc.ts";
import { createFakeCore } from "./fake-core.ts";
import { HAPPY, UPSTREAM_5XX } from "./scripts.ts";
import { type GrpcTestServers, startGrpcServers } from "./test-servers.ts";
import { captureRpc } from "./wire-capture.ts";

interface HookCall {
  readonly method: string;
  /** Whether the core had been called when the span started. */
  readonly coreCallsAtStart: number;
  ends: { code: Code | undefined; message: string | undefined }[];
}

const core = createFakeCore(HAPPY);
const hookCalls: HookCall[] = [];
const intercepted: string[] = [];
let servers: GrpcTestServers;

const interceptor: Interceptor = (next) => async (request) => {
  intercepted.push(request.method.name);
  return next(request);
};

beforeAll(async () => {
  servers = await startGrpcServers(core, {
    tracing: {
      interceptors: [interceptor],
      startFastLaneSpan: (_request, method) => {
        const call: HookCall = { method, coreCallsAtStart: core.calls.length, ends: [] };
        hookCalls.push(call);
        return (code, message) => void call.ends.push({ code, message });
      },
    },
  });
});
afterAll(async () => {
  await servers?.close();
});
beforeEach(() => {
  core.script = HAPPY;
  core.calls.length = 0;
  hookCalls.length = 0;
  intercepted.length = 0;
});

const body = envelope(
  toBinary(
    CreateChatCompletionRequestSchema,
    create(CreateChatCompletionRequestSchema, {
      model: "gpt-test",
      messages: [{ role: "user", content: "hi" }],
    }),
  ),
);

describe("the fast lane with tracing on", () => {
  it("serves unary and streaming gRPC calls, each in a span started before the core and ended once with OK", async () => {
    for (const method of ["CreateChatCompletion", "StreamChatCompletion"]) {
      const capture = await captureRpc(servers.h2Url, `/llmproxy.v1.ChatService/${method}`, body);
      expect(capture.trailers).toContain("grpc-status: 0");
    }
    expect(hookCalls).toEqual([
      { method: "llmproxy.v1.ChatService/CreateChatCompletion", coreCallsAtStart: 0, ends: [{}] },
      { method: "llmproxy.v1.ChatService/StreamChatCompletion", coreCallsAtStart: 1, ends: [{}] },
    ]);
    expect(core.calls.map((call) => call.method)).toEqual(["complete", "openStream"]);
    expect(intercepted).toEqual([]);
  });

  it("ends the span with the failure's status and message", async () => {
    core.script = { ...HAPPY, failBeforeFirst: UPSTREAM_5XX };
    const capture = await captureRpc(servers.h2Url, "/llmproxy.v1.ChatService/StreamChatCompletion", body);
    expect(capture.trailers).toContain("grpc-status: 14");
    expect(hookCalls.map((call) => call.ends)).toEqual([
      [{ code: 14, message: "The upstream provider failed." }],
    ]);
  });

  it("leaves the calls Connect's handler serves to the interceptor", async () => {
    const response = await fetch(`${servers.h1Url}/llmproxy.v1.ChatService/CreateChatCompletion`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-test", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(response.status).toBe(200);
    expect(intercepted).toEqual(["CreateChatCompletion"]);
    expect(hookCalls).toEqual([]);
  });
});
