/**
 * One gRPC behaviour: plain gRPC over h2c is served by the fast lane (src/grpc/fast-lane.ts), and everything else by
 * Connect's handler (src/grpc/chat-service.ts). Two gateways differ only in the switch that picks the path
 * (buildServer's `grpcFastLane`, false: every call goes through Connect; the default takes the fast lane, with
 * tracing on or off), and every call here is sent to both with a raw node:http2 client. What the client sees must be
 * the same bytes: the response header list in order (minus `date`; the overhead header's value is a timing and only
 * its format is compared), the HEADERS frame's END_STREAM flag, every gRPC message, the trailers and the reset code.
 * Covered: unary and server-streaming answers (text, tool calls, usage), invalid arguments, upstream 4xx/5xx mapped,
 * an unknown model, auth refusals, an undecodable message, deadlines (grpc-timeout) before and during a stream,
 * an upstream failing mid-stream, a client cancel, and request metadata (x-request-id echo, custom and binary).
 */
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateChatCompletionRequestSchema } from "../../gen/llmproxy/v1/chat_pb.ts";
import { type FaultUpstream, startFaultUpstream, waitFor } from "../helpers/fault-upstream.ts";
import { startMockOpenAIUpstream } from "../helpers/mock-openai-upstream.ts";
import type { MockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";
import { envelope } from "../security/raw-grpc.ts";
import { type CaptureOptions, captureRpc, type WireCapture } from "./wire-capture.ts";

const KEY = "sk-differential-client-key-0001";
const CHAT_ONLY_KEY = "sk-differential-chat-only-key-02";
const UNARY = "/llmproxy.v1.ChatService/CreateChatCompletion";
const STREAM = "/llmproxy.v1.ChatService/StreamChatCompletion";
const FIXED_NOW_MS = 1_700_000_000_000;

type RequestInit = MessageInitShape<typeof CreateChatCompletionRequestSchema>;

/** One side: a gateway on one path, with its own scripted vendor (so both vendors see the same request order). */
interface Side {
  readonly gateway: RunningServer;
  readonly faults: FaultUpstream;
}

let vendor: MockUpstream;
let fast: Side;
let connect: Side;

/** The scripted vendor's behaviour, by upstream model (`faults/<name>`). */
function faultScript(model: string) {
  switch (model) {
    case "stall":
      return { kind: "stall" } as const;
    case "slow":
      return { kind: "stream", pieces: ["a", "b", "c", "d", "e"], chunkDelayMs: 400 } as const;
    case "fails-mid-stream":
      return {
        kind: "stream",
        pieces: ["one", "two", "three"],
        afterPieces: 2,
        ending: "error-event",
      } as const;
    default:
      return { kind: "stream" } as const;
  }
}

async function startSide(grpcFastLane: boolean): Promise<Side> {
  const faults = await startFaultUpstream((request) => faultScript(request.model));
  const gateway = await startServer(
    `
providers:
  mock: {type: openai, base_url: "${vendor.baseUrl}", api_key: sk-vendor-key-not-real}
  faults: {type: openai, base_url: "${faults.baseUrl}"}
model_config: {chat: mock}
proxy: {max_retries: 0, cooldown: {failures: 1000}}
auth:
  keys:
    - {name: all, key: ${KEY}}
    - {name: chat-only, key: ${CHAT_ONLY_KEY}, models: [chat]}
`,
    // Answers carry the core's clock (\`created\`): both gateways read the same one.
    { now: () => FIXED_NOW_MS },
    { grpcFastLane },
  );
  return { gateway, faults };
}

beforeAll(async () => {
  vendor = await startMockOpenAIUpstream();
  [fast, connect] = await Promise.all([startSide(true), startSide(false)]);
});
afterAll(async () => {
  for (const side of [fast, connect]) await Promise.all([side?.gateway.close(), side?.faults.close()]);
  await vendor?.close();
});

function requestBody(init: RequestInit): Buffer {
  return envelope(
    toBinary(CreateChatCompletionRequestSchema, create(CreateChatCompletionRequestSchema, init)),
  );
}

/** Sends the same call to both gateways (one after the other) and asserts the client saw the same bytes. */
async function same(
  path: string,
  body: Buffer,
  { headers, ...options }: CaptureOptions = {},
): Promise<WireCapture> {
  const send = (side: Side) =>
    captureRpc(side.gateway.url, path, body, {
      ...options,
      headers: { authorization: `Bearer ${KEY}`, "x-request-id": "rid-differential", ...headers },
    });
  const onFastLane = await send(fast);
  const onConnect = await send(connect);
  expect(onFastLane).toEqual(onConnect);
  return onFastLane;
}

const hello = (model: string, text = "hello differential") => ({
  model,
  messages: [{ role: "user", content: text }],
});

/** The grpc-status a capture ended with (trailers, or the headers of a trailers-only answer). */
function statusOf(capture: WireCapture): string | undefined {
  const all = [...(capture.trailers ?? []), ...capture.headers];
  return all.find((line) => line.startsWith("grpc-status: "))?.slice("grpc-status: ".length);
}

describe("the fast lane and Connect's handler answer plain gRPC with the same bytes", () => {
  it("unary answer, with the request id echoed, metadata sent and the overhead header", async () => {
    const capture = await same(UNARY, requestBody(hello("chat")), {
      headers: { "x-custom-meta": "kept out", "x-blob-bin": Buffer.from([0, 1, 2]).toString("base64") },
    });
    expect(capture.headers).toContain("x-request-id: rid-differential");
    expect(capture.headers).toContain("x-llm-proxy-overhead-ms: <ms>");
    expect(capture.messages).toHaveLength(1);
    expect(statusOf(capture)).toBe("0");
  });

  it("server stream: text, tool-call deltas and usage", async () => {
    const text = await same(STREAM, requestBody({ ...hello("chat"), streamOptions: { includeUsage: true } }));
    expect(text.messages.length).toBeGreaterThan(3);
    expect(text.headers).toContain("x-llm-proxy-overhead-ms: <ms>");
    expect(statusOf(text)).toBe("0");
    const tools = await same(
      STREAM,
      requestBody({
        ...hello("chat", "weather?"),
        tools: [{ type: "function", function: { name: "get_weather" } }, { function: { name: "get_time" } }],
      }),
    );
    expect(tools.messages.length).toBeGreaterThan(3);
    expect(statusOf(tools)).toBe("0");
  });

  it("invalid arguments, from the converter and from the request guard", async () => {
    for (const path of [UNARY, STREAM]) {
      const range = await same(path, requestBody({ ...hello("chat"), temperature: 5 }));
      expect(statusOf(range)).toBe("3");
      const empty = await same(path, requestBody({ model: "chat" }));
      expect(statusOf(empty)).toBe("3");
      const garbage = await same(path, envelope(Buffer.from([0x0a, 0xff, 0xff])));
      expect(statusOf(garbage)).toBe("3");
    }
  });

  it("upstream 4xx and 5xx, mapped", async () => {
    for (const [status, code] of [
      ["400", "3"],
      ["401", "16"],
      ["404", "5"],
      ["429", "8"],
      ["500", "14"],
      ["503", "14"],
    ] as const) {
      for (const path of [UNARY, STREAM]) {
        const capture = await same(path, requestBody(hello(`mock/status-${status}`)));
        expect(statusOf(capture), `${path} upstream ${status}`).toBe(code);
      }
    }
  });

  it("an unknown model, and a model the caller's key may not use", async () => {
    for (const path of [UNARY, STREAM]) {
      expect(statusOf(await same(path, requestBody(hello("no-such-model"))))).toBe("5");
      const refused = await same(path, requestBody(hello("faults/ok")), {
        headers: { authorization: `Bearer ${CHAT_ONLY_KEY}` },
      });
      expect(statusOf(refused)).toBe("5");
    }
  });

  it("auth refusals: no key, a wrong key", async () => {
    for (const path of [UNARY, STREAM]) {
      const missing = await same(path, requestBody(hello("chat")), { headers: { authorization: "" } });
      expect(statusOf(missing)).toBe("16");
      const wrong = await same(path, requestBody(hello("chat")), {
        headers: { authorization: "Bearer sk-not-a-key-of-this-gateway" },
      });
      expect(statusOf(wrong)).toBe("16");
    }
  });

  it("grpc-timeout: before the answer starts, and during a stream", async () => {
    for (const path of [UNARY, STREAM]) {
      const before = await same(path, requestBody(hello("faults/stall")), {
        headers: { "grpc-timeout": "200m" },
      });
      expect(statusOf(before)).toBe("4");
    }
    // Chunks at about 0, 400 and 800 ms: the deadline (600 ms) falls between the second and the third, 200 ms from
    // either, so a busy machine does not make the two calls see a different number of chunks.
    const during = await same(STREAM, requestBody(hello("faults/slow")), {
      headers: { "grpc-timeout": "600m" },
    });
    expect(during.messages.length).toBeGreaterThan(0);
    expect(statusOf(during)).toBe("4");
  });

  it("an upstream that fails mid-stream", async () => {
    const capture = await same(STREAM, requestBody(hello("faults/fails-mid-stream")));
    expect(capture.messages.length).toBeGreaterThan(0);
    expect(statusOf(capture)).toBe("14");
  });

  it("a client cancel: the same bytes before it, and the upstream call aborted on both paths", async () => {
    const capture = await same(STREAM, requestBody(hello("faults/slow")), {
      headers: { "x-request-id": "rid-differential-cancel" },
      cancelAfterMessages: 1,
    });
    expect(capture.messages).toHaveLength(1);
    expect(capture.rstCode).toBe(8);
    const outcomes: unknown[] = [];
    for (const side of [fast, connect]) {
      const seen = () =>
        side.faults.requests.find((request) => request.requestId === "rid-differential-cancel");
      await waitFor(() => seen()?.abortedAt !== undefined, 2_000);
      const access = () =>
        side.gateway.logs.find(
          (line) => line.requestId === "rid-differential-cancel" && line.msg === "request completed",
        );
      await waitFor(() => access() !== undefined, 2_000);
      outcomes.push(access()?.outcome);
    }
    expect(outcomes).toEqual(["cancelled", "cancelled"]);
  });
});
