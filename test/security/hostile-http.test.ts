/**
 * A corpus of malformed HTTP requests against the real server on a real socket: every one is answered 4xx with a
 * clear, short message in OpenAI's envelope, none is answered 5xx, nothing is logged as an error (our bugs log at
 * error level), and a valid request is served after each. Requests are sent as raw bytes, so framing errors,
 * invalid UTF-8 and control characters reach the server exactly as written.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMockOpenAIUpstream } from "../helpers/mock-openai-upstream.ts";
import type { MockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";
import { post, type RawResponse, sendRaw } from "./raw-http.ts";

const MB5 = "x".repeat(5 * 1024 * 1024);
const user = (content: unknown = "hi") => ({ role: "user", content });
const body = (fields: Record<string, unknown>) =>
  JSON.stringify({ model: "echo-1", messages: [user()], ...fields });
const deep = (depth: number, leaf = "0") => "[".repeat(depth) + leaf + "]".repeat(depth);
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(
    parts.map((part) => (typeof part === "string" ? Buffer.from(part, "utf8") : Buffer.from(part))),
  );

interface Case {
  readonly name: string;
  /** Raw request bytes, or a body for POST /v1/chat/completions. */
  readonly request: Buffer | string;
  readonly raw?: boolean;
  readonly status?: number;
  readonly message?: RegExp;
}

const NOT_JSON = /could not parse the JSON body/;
const CASES: readonly Case[] = [
  // Not JSON at all.
  ...[
    "hello",
    "<xml/>",
    "{model: echo-1}",
    "'single'",
    "NaN",
    "undefined",
    '{"model":"echo-1",}',
    "// c\n{}",
  ].map((text) => ({ name: `not JSON: ${text.slice(0, 20)}`, request: text, message: NOT_JSON })),
  // Truncated JSON.
  ...[
    '{"model":"echo-1","messages":[{"role":"user","content":"hi"}',
    '{"model":"ec',
    "{",
    "[",
    '{"messages":[',
    '"unterminated',
  ].map((text) => ({ name: `truncated: ${text.slice(0, 24)}`, request: text, message: NOT_JSON })),
  { name: "empty body", request: "", message: NOT_JSON },
  { name: "whitespace body", request: "   \n ", message: NOT_JSON },
  // JSON, but not an object.
  ...["null", "[]", "42", '"text"', "true"].map((text) => ({
    name: `top level ${text}`,
    request: text,
    message: /expected object/,
  })),
  // Wrong types.
  ...Object.entries({
    "messages string": { messages: "hi" },
    "messages object": { messages: {} },
    "messages [1]": { messages: [1] },
    "messages [[]]": { messages: [[]] },
    "role number": { messages: [{ role: 5, content: "x" }] },
    "content number": { messages: [user(5)] },
    "content object": { messages: [user({ text: "x" })] },
    "content [1]": { messages: [user([1])] },
    "content part type video": { messages: [user([{ type: "video", url: "x" }])] },
    "image_url without url": { messages: [user([{ type: "image_url", image_url: {} }])] },
    "model number": { model: 5 },
    "model array": { model: ["echo-1"] },
    "stream string": { stream: "yes" },
    "temperature string": { temperature: "hot" },
    "temperature 3": { temperature: 3 },
    "top_p -1": { top_p: -1 },
    "stop number": { stop: 5 },
    "stop five sequences": { stop: ["a", "b", "c", "d", "e"] },
    "tools string": { tools: "x" },
    "tool without function": { tools: [{ type: "function" }] },
    "tool with empty name": { tools: [{ type: "function", function: { name: "" } }] },
    "tool_choice unknown": { tool_choice: "sometimes" },
    "response_format xml": { response_format: { type: "xml" } },
    "reasoning_effort unknown": { reasoning_effort: "extreme" },
    "presence_penalty 3": { presence_penalty: 3 },
    "seed 1.5": { seed: 1.5 },
    "user number": { user: 5 },
    "stream_options string": { stream_options: "x" },
    "n string": { n: "2" },
    "max_tokens string": { max_tokens: "10" },
    "assistant tool_calls string": {
      messages: [user(), { role: "assistant", content: null, tool_calls: "x" }],
    },
    // Nulls.
    "messages null": { messages: null },
    "model null": { model: null },
    "role null": { messages: [{ role: null, content: "x" }] },
    "user content null": { messages: [user(null)] },
    "message null": { messages: [null] },
    "tools [null]": { tools: [null] },
    // Huge numbers.
    "max_tokens 1e20": { max_tokens: 1e20 },
    "n 1e308": { n: 1e308 },
    "temperature 1e308": { temperature: 1e308 },
    "seed beyond safe integers": { seed: 1e30 },
    "top_p -1e308": { top_p: -1e308 },
    // Unknown roles.
    "role robot": { messages: [{ role: "robot", content: "x" }] },
    "role empty": { messages: [{ role: "", content: "x" }] },
    "role USER": { messages: [{ role: "USER", content: "x" }] },
    "role function": { messages: [{ role: "function", content: "x", name: "f" }] },
    // Tool messages without a call id.
    "tool message without tool_call_id": { messages: [user(), { role: "tool", content: "42" }] },
    "tool message with empty tool_call_id": {
      messages: [user(), { role: "tool", content: "42", tool_call_id: "" }],
    },
    "tool message with null tool_call_id": {
      messages: [user(), { role: "tool", content: "42", tool_call_id: null }],
    },
    // n and max_tokens out of range.
    "n 0": { n: 0 },
    "n -1": { n: -1 },
    "n 129": { n: 129 },
    "n 1.5": { n: 1.5 },
    "max_tokens -5": { max_tokens: -5 },
    "max_tokens 0": { max_tokens: 0 },
    "max_tokens 1.5": { max_tokens: 1.5 },
    "max_completion_tokens -1": { max_completion_tokens: -1 },
    "messages empty": { messages: [] },
    // Empty model with no default model.
    "model empty": { model: "" },
    // 5 MB strings where a short one is expected.
    "model of 5 MB": { model: MB5 },
    "user of 5 MB": { user: MB5 },
    "role of 5 MB": { messages: [{ role: MB5, content: "x" }] },
    "tool name of 5 MB": { tools: [{ type: "function", function: { name: MB5 } }] },
    "reasoning_effort of 5 MB": { reasoning_effort: MB5 },
  }).map(([name, fields]) => ({ name, request: body(fields) })),
  {
    name: "unknown model",
    request: body({ model: "no-such-model" }),
    status: 404,
    message: /does not exist/,
  },
  { name: "model of spaces", request: body({ model: "   " }), status: 404, message: /does not exist/ },
  {
    name: "huge number 1e400 (Infinity)",
    request: body({}).replace('"messages"', '"max_tokens":1e400,"messages"'),
  },
  // Deep nesting, where the schema expects something else and where it forwards anything.
  {
    name: "10k-deep array as content",
    request: `{"model":"echo-1","messages":[{"role":"user","content":${deep(10_000)}}]}`,
  },
  {
    name: "10k-deep array as an extra field",
    request: `{"model":"up-1","messages":[{"role":"user","content":"x"}],"extra":${deep(10_000)}}`,
    message: /nest/,
  },
  {
    name: "10k-deep object as an extra field",
    request: `{"model":"up-1","messages":[{"role":"user","content":"x"}],"metadata":${deepObject(10_000)}}`,
    message: /nest/,
  },
  {
    name: "10k-deep tool parameters",
    request: `{"model":"up-1","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":${deepObject(10_000)}}}]}`,
    message: /nest/,
  },
  { name: "100k-deep array", request: deep(100_000), message: /nest/ },
  // Prototype keys (kept by JSON.parse, dangerous once copied onto another object).
  {
    name: "__proto__ at the top level",
    request: '{"model":"echo-1","messages":[{"role":"user","content":"x"}],"__proto__":{"polluted":true}}',
    message: /forbidden key/,
  },
  {
    name: "__proto__ inside tool parameters",
    request:
      '{"model":"echo-1","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"__proto__":{"a":1}}}}]}',
    message: /forbidden key/,
  },
  // Invalid UTF-8 and control characters.
  ...Object.entries({
    "byte 0xFF in a string": [0xff],
    "overlong encoding of /": [0xc0, 0xaf],
    "lone continuation byte": [0x80],
    "truncated 3-byte sequence": [0xe2, 0x82],
    "UTF-16 surrogate encoded in UTF-8": [0xed, 0xa0, 0x80],
  }).map(([name, invalid]) => ({
    name: `invalid UTF-8: ${name}`,
    request: bytes('{"model":"echo-1","messages":[{"role":"user","content":"a', invalid, 'b"}]}'),
    message: /UTF-8/,
  })),
  {
    name: "raw control character in a string",
    request: bytes('{"model":"echo-1","messages":[{"role":"user","content":"a', [0x01], '"}]}'),
    message: NOT_JSON,
  },
  {
    name: "NUL byte in the body",
    request: bytes('{"model":"echo-1",', [0x00], '"messages":[]}'),
    message: NOT_JSON,
  },
  // Size, routes, methods, content types.
  {
    name: "body over the limit",
    request: body({ padding: "x".repeat(11 * 1024 * 1024) }),
    status: 413,
    message: /larger than/,
  },
  {
    name: "GET on the chat route",
    raw: true,
    request: post("", { method: "GET" }),
    status: 404,
    message: /Unknown route/,
  },
  {
    name: "PUT on the chat route",
    raw: true,
    request: post(body({}), { method: "PUT" }),
    status: 404,
    message: /Unknown route/,
  },
  {
    name: "DELETE /v1/models",
    raw: true,
    request: post("", { method: "DELETE", path: "/v1/models", headers: [] }),
    status: 404,
    message: /Unknown route/,
  },
  {
    name: "form-encoded body",
    raw: true,
    request: post("a=b&c=d", { headers: ["Content-Type: application/x-www-form-urlencoded"] }),
    message: NOT_JSON,
  },
  {
    name: "multipart body",
    raw: true,
    request: post("--x\r\nContent-Disposition: form-data; name=a\r\n\r\nb\r\n--x--", {
      headers: ["Content-Type: multipart/form-data; boundary=x"],
    }),
    message: NOT_JSON,
  },
  // Broken HTTP framing, answered by the connection-level handler.
  {
    name: "control character in x-request-id",
    raw: true,
    request: post(body({}), { headers: ["Content-Type: application/json", "X-Request-Id: abc\x01def"] }),
    message: /Malformed HTTP request/,
  },
  {
    name: "NUL in a header value",
    raw: true,
    request: post(body({}), { headers: ["Content-Type: application/json", "X-Request-Id: a\x00b"] }),
    message: /Malformed HTTP request/,
  },
  {
    name: "space in a header name",
    raw: true,
    request: post(body({}), { headers: ["Content Type: application/json"] }),
    message: /Malformed HTTP request/,
  },
  {
    name: "x-request-id of 5 MB",
    raw: true,
    request: post(body({}), { headers: ["Content-Type: application/json", `X-Request-Id: ${MB5}`] }),
    status: 431,
    message: /headers are too large/,
  },
  {
    name: "conflicting content-lengths",
    raw: true,
    request: Buffer.from(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}`,
    ),
    message: /Malformed HTTP request/,
  },
  {
    name: "non-numeric content-length",
    raw: true,
    request: Buffer.from("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n{}"),
    message: /Malformed HTTP request/,
  },
  {
    name: "bad chunk size",
    raw: true,
    request: Buffer.from(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    ),
    message: /Malformed HTTP request/,
  },
  {
    name: "not HTTP at all",
    raw: true,
    request: Buffer.from("HELLO THERE\r\n\r\n"),
    message: /Malformed HTTP request/,
  },
];

let upstream: MockUpstream;
let server: RunningServer;

beforeAll(async () => {
  upstream = await startMockOpenAIUpstream();
  server = await startServer(`
model_config: {echo-1: echo, up-1: mock}
providers:
  mock: {type: openai, base_url: "${upstream.baseUrl}", api_key: sk-mock-upstream-key-123}
proxy: {max_retries: 0}
`);
});
afterAll(async () => {
  await server.close();
  await upstream.close();
});

async function valid(): Promise<RawResponse> {
  return sendRaw(server.port, post(body({ messages: [user("still alive")] })));
}

describe(`hostile HTTP input (${CASES.length} cases)`, () => {
  it("has a corpus of at least 60 requests", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
  });

  for (const hostile of CASES) {
    it(`${hostile.name}: 4xx with a clear message, then a valid request is served`, async () => {
      const answer = await sendRaw(
        server.port,
        hostile.raw === true ? hostile.request : post(hostile.request),
      );
      expect(answer.status, answer.body.slice(0, 300)).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      if (hostile.status !== undefined) expect(answer.status).toBe(hostile.status);
      expect(answer.headers["content-type"]).toMatch(/^application\/json/);
      const error = (JSON.parse(answer.body) as { error: { message: string; type: string } }).error;
      expect(error.type).toMatch(/_error$/);
      expect(error.message.length).toBeGreaterThan(10);
      expect(error.message.length).toBeLessThan(400);
      if (hostile.message !== undefined) expect(error.message).toMatch(hostile.message);
      const next = await valid();
      expect(next.status).toBe(200);
      expect(JSON.parse(next.body).choices[0].message.content).toBe("still alive");
    });
  }

  it("accepts a request id with control or non-ASCII bytes the parser lets through, replacing it", async () => {
    for (const id of ["abc\x7fdef", "caf\xe9", "x".repeat(129), "tab\tinside"]) {
      const answer = await sendRaw(
        server.port,
        post(body({}), { headers: ["Content-Type: application/json", `X-Request-Id: ${id}`] }),
      );
      expect(answer.status, JSON.stringify(id)).toBeLessThan(500);
      if (answer.status === 200) expect(answer.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("logged nothing at error level (no crash, no internal error)", () => {
    const errors = server.logs.filter((line) => Number(line.level) >= 50);
    expect(errors).toEqual([]);
  });
});
