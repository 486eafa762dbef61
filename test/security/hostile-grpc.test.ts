/**
 * A corpus of malformed RPCs against the real server on a real socket: raw gRPC over h2c (bad envelopes, bad
 * protobuf bytes, invalid UTF-8, 10k-deep Struct values, bad metadata, wrong field values, huge strings) and
 * Connect JSON over HTTP/1.1 (not JSON, wrong types, nulls, huge numbers, deep nesting). Every one ends with a
 * client-error status (never INTERNAL, UNKNOWN, UNAVAILABLE or DATA_LOSS, never HTTP 5xx) and a clear message,
 * nothing is logged at error level, and a valid call is served after each.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CreateChatCompletionRequest,
  CreateChatCompletionRequestSchema,
  CreateChatCompletionResponseSchema,
} from "../../gen/llmproxy/v1/chat_pb.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";
import { bytesField, deepListValue, envelope, rawRpc, structWith } from "./raw-grpc.ts";
import { post, sendRaw } from "./raw-http.ts";

const UNARY = "/llmproxy.v1.ChatService/CreateChatCompletion";
const STREAM = "/llmproxy.v1.ChatService/StreamChatCompletion";
const MB5 = "x".repeat(5 * 1024 * 1024);
/** gRPC codes that mean "the server failed", which no client input may cause. */
const SERVER_FAULT_CODES = new Set([2, 13, 14, 15]);

type Init = Parameters<typeof create<typeof CreateChatCompletionRequestSchema>>[1];
const message = (init: Init): Buffer =>
  Buffer.from(
    toBinary(
      CreateChatCompletionRequestSchema,
      create(CreateChatCompletionRequestSchema, {
        model: "echo-1",
        messages: [{ role: "user", content: "hi" }],
        ...init,
      } as Init) as CreateChatCompletionRequest,
    ),
  );
const valid = message({});
const user = { role: "user", content: "hi" };

interface RpcCase {
  readonly name: string;
  readonly body: Buffer;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  /** Expected gRPC code (else any client-error code); or, for requests turned away before Connect, the HTTP status class (4). */
  readonly code?: number;
  readonly httpStatus?: number;
}

const modelField = (bytes: Buffer) => bytesField(1, bytes);
const RPC_CASES: readonly RpcCase[] = [
  // Envelope and framing.
  { name: "random bytes as the message", body: envelope(Buffer.alloc(16, 0xff)), code: 3 },
  { name: "envelope longer than the data", body: envelope(valid, 0, valid.length + 100) },
  { name: "envelope header cut short", body: Buffer.from([0, 0, 0]) },
  { name: "no message at all", body: Buffer.alloc(0) },
  { name: "two messages for a unary call", body: Buffer.concat([envelope(valid), envelope(valid)]) },
  { name: "compressed flag without grpc-encoding", body: envelope(valid, 1) },
  { name: "gzip declared, bytes not gzip", body: envelope(valid, 1), headers: { "grpc-encoding": "gzip" } },
  { name: "unsupported grpc-encoding", body: envelope(valid, 1), headers: { "grpc-encoding": "snappy" } },
  { name: "unknown flag bits", body: envelope(valid, 0x80) },
  {
    name: "message over the size limit",
    body: envelope(message({ user: "x".repeat(11 * 1024 * 1024) })),
    code: 8,
  },
  // Protobuf bytes.
  { name: "truncated varint tag", body: envelope(Buffer.from([0x80])), code: 3 },
  { name: "wrong wire type for model", body: envelope(Buffer.from([0x08, 0x01])), code: 3 },
  { name: "field number 0", body: envelope(Buffer.from([0x02, 0x00])), code: 3 },
  { name: "length beyond the end", body: envelope(Buffer.from([0x0a, 0x7f, 0x61])), code: 3 },
  { name: "wire type 7", body: envelope(Buffer.from([0x0f])), code: 3 },
  {
    name: "length varint overflow",
    body: envelope(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
    code: 3,
  },
  { name: "invalid UTF-8 in model", body: envelope(modelField(Buffer.from([0xff, 0xfe, 0x41]))), code: 3 },
  {
    name: "invalid UTF-8 in message content",
    body: envelope(
      Buffer.concat([
        modelField(Buffer.from("echo-1")),
        bytesField(
          2,
          Buffer.concat([bytesField(1, Buffer.from("user")), bytesField(2, Buffer.from([0x61, 0xc0, 0xaf]))]),
        ),
      ]),
    ),
    code: 3,
  },
  {
    name: "10k-deep Struct in extra_body",
    body: envelope(Buffer.concat([valid, bytesField(19, structWith(deepListValue(10_000)))])),
    code: 3,
  },
  {
    name: "10k-deep Struct in tool parameters",
    body: envelope(
      Buffer.concat([
        valid,
        bytesField(
          11,
          Buffer.concat([
            bytesField(1, Buffer.from("function")),
            bytesField(
              2,
              Buffer.concat([
                bytesField(1, Buffer.from("f")),
                bytesField(3, structWith(deepListValue(10_000))),
              ]),
            ),
          ]),
        ),
      ]),
    ),
    code: 3,
  },
  {
    name: "150-deep Struct in extra_body",
    body: envelope(Buffer.concat([valid, bytesField(19, structWith(deepListValue(150)))])),
    code: 3,
  },
  // Metadata.
  { name: "grpc-timeout not a number", body: envelope(valid), headers: { "grpc-timeout": "soon" } },
  {
    name: "grpc-timeout too many digits",
    body: envelope(valid),
    headers: { "grpc-timeout": "123456789012H" },
  },
  {
    name: "content-type grpc+xml",
    body: envelope(valid),
    headers: { "content-type": "application/grpc+xml" },
    httpStatus: 4,
  },
  {
    name: "content-type grpc+json with protobuf bytes",
    body: envelope(valid),
    headers: { "content-type": "application/grpc+json" },
    code: 3,
  },
  {
    name: "unknown method",
    body: envelope(valid),
    path: "/llmproxy.v1.ChatService/DeleteEverything",
    httpStatus: 4,
  },
  { name: "unknown service", body: envelope(valid), path: "/llmproxy.v9.Nope/Call", httpStatus: 4 },
  // Field values.
  ...Object.entries({
    "role robot": { messages: [{ role: "robot", content: "x" }] },
    "role empty": { messages: [{ role: "", content: "x" }] },
    "role of 5 MB": { messages: [{ role: MB5, content: "x" }] },
    "user message without content": { messages: [{ role: "user" }] },
    "tool message without tool_call_id": { messages: [user, { role: "tool", content: "42" }] },
    "no messages": { messages: [] },
    "n 0": { n: 0 },
    "n -1": { n: -1 },
    "n 1000": { n: 1000 },
    "max_tokens -5": { maxTokens: -5 },
    "max_tokens 0": { maxTokens: 0 },
    "max_completion_tokens -1": { maxCompletionTokens: -1 },
    "temperature 3": { temperature: 3 },
    "temperature NaN": { temperature: Number.NaN },
    "temperature Infinity": { temperature: Number.POSITIVE_INFINITY },
    "top_p -1": { topP: -1 },
    "presence_penalty 5": { presencePenalty: 5 },
    "frequency_penalty -1e308": { frequencyPenalty: -1e308 },
    "seed 2^62": { seed: 2n ** 62n },
    "model empty, no default model": { model: "" },
    "model of 5 MB": { model: MB5 },
    "user of 5 MB": { user: MB5 },
    "stop with 5 sequences": { stop: ["a", "b", "c", "d", "e"] },
    "129 tools": {
      tools: Array.from({ length: 129 }, (_, index) => ({
        type: "function",
        function: { name: `f${index}` },
      })),
    },
    "tool type x": { tools: [{ type: "x", function: { name: "f" } }] },
    "tool without a function": { tools: [{ type: "function" }] },
    "tool_choice mode sometimes": { toolChoice: { choice: { case: "mode", value: "sometimes" } } },
    "tool_choice empty function name": { toolChoice: { choice: { case: "functionName", value: "" } } },
    "response_format xml": { responseFormat: { type: "xml" } },
    "json_schema without a name": { responseFormat: { type: "json_schema", jsonSchema: {} } },
    "reasoning_effort extreme": { reasoningEffort: "extreme" },
    "reasoning_effort of 5 MB": { reasoningEffort: MB5 },
    "content part with neither text nor image": { messages: [{ role: "user", contentParts: [{}] }] },
    "image without url": {
      messages: [{ role: "user", contentParts: [{ part: { case: "imageUrl", value: { url: "" } } }] }],
    },
    "image detail ultra": {
      messages: [
        {
          role: "user",
          contentParts: [{ part: { case: "imageUrl", value: { url: "https://x/y.png", detail: "ultra" } } }],
        },
      ],
    },
    "assistant tool call without id": {
      messages: [
        user,
        { role: "assistant", toolCalls: [{ type: "function", function: { name: "f", arguments: "{}" } }] },
      ],
    },
  } as Record<string, Init>).map(([name, init]) => ({ name, body: envelope(message(init)), code: 3 })),
  { name: "unknown model", body: envelope(message({ model: "no-such-model" })), code: 5 },
];

interface ConnectCase {
  readonly name: string;
  readonly body: Buffer | string;
  readonly contentType?: string;
  readonly method?: string;
  readonly path?: string;
  /** Expected HTTP status; default: any 4xx. */
  readonly status?: number;
}

const deepJson = (depth: number) => `${"[".repeat(depth)}1${"]".repeat(depth)}`;
const CONNECT_CASES: readonly ConnectCase[] = [
  ...["hello", "{", '{"model":', "", "null", "[]", "42", '"text"'].map((text) => ({
    name: `not a request: ${JSON.stringify(text)}`,
    body: text,
  })),
  ...Object.entries({
    "model number": '{"model":5,"messages":[{"role":"user","content":"hi"}]}',
    "messages string": '{"model":"echo-1","messages":"hi"}',
    "role number": '{"model":"echo-1","messages":[{"role":5,"content":"hi"}]}',
    "temperature string":
      '{"model":"echo-1","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}',
    "n string": '{"model":"echo-1","messages":[{"role":"user","content":"hi"}],"n":"two"}',
    "n beyond int32": '{"model":"echo-1","messages":[{"role":"user","content":"hi"}],"n":4294967296}',
    "max_tokens 1e400": '{"model":"echo-1","messages":[{"role":"user","content":"hi"}],"maxTokens":1e400}',
    "max_tokens fractional": '{"model":"echo-1","messages":[{"role":"user","content":"hi"}],"maxTokens":1.5}',
    "seed not a number": '{"model":"echo-1","messages":[{"role":"user","content":"hi"}],"seed":"abc"}',
    "top_p a string": '{"model":"echo-1","messages":[{"role":"user","content":"hi"}],"topP":"high"}',
    "extra_body not an object":
      '{"model":"echo-1","messages":[{"role":"user","content":"hi"}],"extraBody":[1]}',
    "null model, no default model": '{"model":null,"messages":[{"role":"user","content":"hi"}]}',
    "message null": '{"model":"echo-1","messages":[null]}',
    "10k-deep extra_body": `{"model":"echo-1","messages":[{"role":"user","content":"hi"}],"extraBody":{"a":${deepJson(10_000)}}}`,
    "10k-deep tool parameters": `{"model":"echo-1","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"a":${deepJson(10_000)}}}}]}`,
    "model of 5 MB": `{"model":"${MB5}","messages":[{"role":"user","content":"hi"}]}`,
    "role unknown": '{"model":"echo-1","messages":[{"role":"robot","content":"hi"}]}',
    "tool message without tool_call_id":
      '{"model":"echo-1","messages":[{"role":"user","content":"hi"},{"role":"tool","content":"1"}]}',
    "n 0": '{"model":"echo-1","messages":[{"role":"user","content":"hi"}],"n":0}',
    "negative max_tokens": '{"model":"echo-1","messages":[{"role":"user","content":"hi"}],"maxTokens":-5}',
  }).map(([name, text]) => ({ name, body: text })),
  {
    name: "invalid UTF-8 in a string",
    body: Buffer.concat([
      Buffer.from('{"model":"echo-1","messages":[{"role":"user","content":"a'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}]}'),
    ]),
  },
  {
    name: "Connect proto: random bytes",
    body: Buffer.alloc(12, 0xff),
    contentType: "application/proto",
    status: 400,
  },
  {
    name: "Connect proto: invalid UTF-8 in model",
    body: Buffer.from([0x0a, 0x02, 0xff, 0xfe]),
    contentType: "application/proto",
    status: 400,
  },
  {
    name: "Connect proto stream: bad protobuf",
    body: envelope(Buffer.from([0x0f])),
    contentType: "application/connect+proto",
    path: STREAM,
  },
  {
    name: "gRPC-web: bad protobuf",
    body: envelope(Buffer.from([0x0a, 0x7f])),
    contentType: "application/grpc-web+proto",
  },
  {
    name: "gRPC-web: 10k-deep Struct",
    body: envelope(Buffer.concat([valid, bytesField(19, structWith(deepListValue(10_000)))])),
    contentType: "application/grpc-web+proto",
  },
  { name: "text/plain content type", body: '{"model":"echo-1"}', contentType: "text/plain", status: 415 },
  { name: "GET on a non-idempotent method", body: "", method: "GET", status: 405 },
  {
    name: "connect+json stream with a broken envelope",
    body: Buffer.from([0, 0, 0, 0, 99, 123]),
    contentType: "application/connect+json",
    path: STREAM,
  },
];

let server: RunningServer;

beforeAll(async () => {
  server = await startServer("model_config: {echo-1: echo}\nproxy: {max_retries: 0}\n");
});
afterAll(async () => {
  await server.close();
});

async function expectServed(): Promise<void> {
  const answer = await rawRpc(
    server.url,
    UNARY,
    envelope(message({ messages: [{ role: "user", content: "still alive" }] })),
  );
  expect(answer.grpcStatus).toBe(0);
  const response = fromBinary(CreateChatCompletionResponseSchema, answer.data.subarray(5));
  expect(response.choices[0]?.message?.content).toBe("still alive");
}

describe(`hostile gRPC input (${RPC_CASES.length} raw gRPC + ${CONNECT_CASES.length} Connect JSON cases)`, () => {
  it("has a corpus of at least 60 requests", () => {
    expect(RPC_CASES.length + CONNECT_CASES.length).toBeGreaterThanOrEqual(60);
    expect(RPC_CASES.length).toBeGreaterThanOrEqual(60);
  });

  for (const hostile of RPC_CASES) {
    it(`gRPC ${hostile.name}: a client-error status with a clear message, then a valid call is served`, async () => {
      const answer = await rawRpc(server.url, hostile.path ?? UNARY, hostile.body, hostile.headers);
      expect(answer.httpStatus).toBeLessThan(500);
      if (hostile.httpStatus !== undefined) {
        expect(Math.floor(answer.httpStatus / 100)).toBe(hostile.httpStatus);
      } else {
        expect(answer.grpcStatus, answer.grpcMessage).toBeGreaterThan(0);
        expect(
          SERVER_FAULT_CODES.has(answer.grpcStatus ?? 0),
          `${answer.grpcStatus} ${answer.grpcMessage}`,
        ).toBe(false);
        if (hostile.code !== undefined) expect(answer.grpcStatus, answer.grpcMessage).toBe(hostile.code);
        expect(answer.grpcMessage.length).toBeGreaterThan(5);
        expect(answer.grpcMessage.length).toBeLessThan(400);
      }
      await expectServed();
    });
  }

  for (const hostile of CONNECT_CASES) {
    it(`Connect ${hostile.name}: 4xx with a Connect error, then a valid call is served`, async () => {
      const answer = await sendRaw(
        server.port,
        post(hostile.body, {
          path: hostile.path ?? UNARY,
          method: hostile.method,
          headers: [`Content-Type: ${hostile.contentType ?? "application/json"}`],
        }),
      );
      expect(answer.status).toBeLessThan(500);
      if (hostile.status !== undefined) expect(answer.status).toBe(hostile.status);
      const grpcStatus = answer.headers["grpc-status"];
      if (grpcStatus !== undefined) {
        // gRPC-web: a trailers-only answer.
        expect(SERVER_FAULT_CODES.has(Number(grpcStatus))).toBe(false);
        expect(Number(grpcStatus)).toBeGreaterThan(0);
        expect(decodeURIComponent(answer.headers["grpc-message"] ?? "").length).toBeGreaterThan(5);
      } else if (answer.status !== 415 && answer.status !== 405) {
        expect(answer.status, answer.body.slice(0, 200)).toBeGreaterThanOrEqual(
          hostile.path === STREAM ? 200 : 400,
        );
        const text = hostile.path === STREAM ? answer.body.slice(5) : answer.body;
        const parsed = JSON.parse(text) as {
          code?: string;
          message?: string;
          error?: { code: string; message: string };
        };
        const error = parsed.error ?? parsed;
        expect(["internal", "unknown", "unavailable", "data_loss"]).not.toContain(error.code);
        expect(error.message?.length ?? 0).toBeGreaterThan(5);
        expect(error.message?.length ?? 0).toBeLessThan(400);
      }
      await expectServed();
    });
  }

  it("logged nothing at error level (no crash, no internal error)", () => {
    expect(server.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);
  });
});
