/**
 * ChatService through `buf curl` (Go's connect-go client, a third independent stack) over gRPC h2c, with the
 * schema compiled from proto/ instead of server reflection.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type BufCurlOutcome,
  bufCurl,
  GRPC_WITH_PROTO_SCHEMA,
  parseBufMessages,
} from "../helpers/buf-curl.ts";
import { createFakeCore } from "./fake-core.ts";
import { HAPPY, RATE_LIMITED, REQUEST_JSON } from "./scripts.ts";
import { type GrpcTestServers, startGrpcServers } from "./test-servers.ts";

const core = createFakeCore(HAPPY);
let servers: GrpcTestServers;

beforeAll(async () => {
  servers = await startGrpcServers(core);
});
afterAll(async () => {
  await servers.close();
});
beforeEach(() => {
  core.script = HAPPY;
  core.calls.length = 0;
});

/** One ChatService method over gRPC h2c, schema from proto/. */
function callChatService(
  method: string,
  body: object,
  extraArgs: readonly string[] = [],
): Promise<BufCurlOutcome> {
  return bufCurl([
    ...GRPC_WITH_PROTO_SCHEMA,
    ...extraArgs,
    "-d",
    JSON.stringify(body),
    `${servers.h2Url}/llmproxy.v1.ChatService/${method}`,
  ]);
}

describe("ChatService via buf curl", () => {
  it("streams the chunks as proto3 JSON and echoes x-request-id", async () => {
    const outcome = await callChatService("StreamChatCompletion", REQUEST_JSON, [
      "-v",
      "-H",
      "x-request-id: rid-buf-1",
    ]);
    expect(outcome.exitCode, outcome.stderr).toBe(0);
    const messages = parseBufMessages(outcome.stdout);
    expect(messages).toHaveLength(6);
    expect(messages[0]).toMatchObject({
      id: "chatcmpl-fake",
      object: "chat.completion.chunk",
      created: "1700000000",
      choices: [{ delta: { role: "assistant", content: "Let me check" } }],
    });
    expect(messages[4]).toMatchObject({ choices: [{ delta: {}, finishReason: "tool_calls" }] });
    expect(messages[5]).toMatchObject({ usage: { promptTokens: 12, totalTokens: 19 } });
    expect(outcome.stderr).toMatch(/^buf: < \(#1\) X-Request-Id: rid-buf-1$/im);
    expect(outcome.stderr).toMatch(/Grpc-Status: 0/);
    expect(core.calls[0]?.options.requestId).toBe("rid-buf-1");
    expect(core.calls[0]?.request).toMatchObject({ model: "gpt-test", temperature: 0.5, includeUsage: true });
  });

  it("prints the mapped error code and message when the core fails", async () => {
    core.script = { ...HAPPY, failBeforeFirst: RATE_LIMITED };
    const outcome = await callChatService("StreamChatCompletion", REQUEST_JSON);
    expect(outcome.exitCode).not.toBe(0);
    expect(JSON.parse(outcome.stderr)).toEqual({ code: "resource_exhausted", message: RATE_LIMITED.message });
  });

  it("calls the unary ListModels", async () => {
    const outcome = await callChatService("ListModels", {});
    expect(outcome.exitCode, outcome.stderr).toBe(0);
    expect(parseBufMessages(outcome.stdout)).toEqual([
      {
        object: "list",
        data: [
          { id: "gpt-test", object: "model", ownedBy: "openai" },
          { id: "claude-test", object: "model", ownedBy: "anthropic" },
        ],
      },
    ]);
  });
});
