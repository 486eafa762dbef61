/**
 * A malformed-input corpus for /v1/messages and /v1/messages/count_tokens, sent over raw HTTP: every case gets a
 * 4xx in Anthropic's error envelope (no stack, no crash), and the next well-formed request is still served.
 */
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer(`
model_config: {echo-1: echo}
proxy: {max_retries: 0}
`);
});
afterAll(async () => {
  await server?.close();
});

const VALID = { model: "echo-1", max_tokens: 16, messages: [{ role: "user", content: "hi" }] };
/** VALID with `patch` merged in (undefined values delete the key). */
function body(patch: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...VALID, ...patch };
  for (const [key, value] of Object.entries(patch)) if (value === undefined) delete merged[key];
  return merged;
}
/** VALID with one user message whose content is `content`. */
function withContent(content: unknown): Record<string, unknown> {
  return body({ messages: [{ role: "user", content }] });
}
function nested(depth: number): unknown {
  let value: unknown = "x";
  for (let level = 0; level < depth; level++) value = { a: value };
  return value;
}

interface Case {
  readonly name: string;
  readonly body: string | Buffer | Record<string, unknown> | unknown[] | null;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly status?: number;
}

const CASES: readonly Case[] = [
  { name: "not JSON", body: "{not json" },
  { name: "an empty body", body: "" },
  { name: "a JSON array", body: [VALID] },
  { name: "a JSON string", body: '"hello"' },
  { name: "JSON null", body: null },
  { name: "no model", body: body({ model: undefined }) },
  { name: "a numeric model", body: body({ model: 42 }) },
  { name: "an empty model", body: body({ model: "" }) },
  { name: "an unknown model", body: body({ model: "no-such-model" }), status: 404 },
  { name: "no max_tokens", body: body({ max_tokens: undefined }) },
  { name: "max_tokens 0", body: body({ max_tokens: 0 }) },
  { name: "negative max_tokens", body: body({ max_tokens: -1 }) },
  { name: "fractional max_tokens", body: body({ max_tokens: 1.5 }) },
  { name: "max_tokens as a string", body: body({ max_tokens: "10" }) },
  { name: "no messages", body: body({ messages: undefined }) },
  { name: "no message at all", body: body({ messages: [] }) },
  { name: "messages as an object", body: body({ messages: { role: "user", content: "hi" } }) },
  { name: "a tool role", body: body({ messages: [{ role: "tool", content: "hi" }] }) },
  { name: "a message without role", body: body({ messages: [{ content: "hi" }] }) },
  { name: "numeric content", body: withContent(42) },
  { name: "null content", body: withContent(null) },
  { name: "a text block without text", body: withContent([{ type: "text" }]) },
  { name: "a text block with numeric text", body: withContent([{ type: "text", text: 1 }]) },
  { name: "an image without source", body: withContent([{ type: "image" }]) },
  {
    name: "a base64 image without data",
    body: withContent([{ type: "image", source: { type: "base64", media_type: "image/png" } }]),
  },
  {
    name: "an image from ftp",
    body: withContent([{ type: "image", source: { type: "ftp", url: "ftp://x" } }]),
  },
  {
    name: "an image file for a vendor that is not Anthropic",
    body: withContent([{ type: "image", source: { type: "file", file_id: "file_1" } }]),
  },
  { name: "a tool_use without id", body: withContent([{ type: "tool_use", name: "f", input: {} }]) },
  {
    name: "a tool_use with string input",
    body: withContent([{ type: "tool_use", id: "toolu_1", name: "f", input: "{}" }]),
  },
  { name: "a tool_result without tool_use_id", body: withContent([{ type: "tool_result", content: "x" }]) },
  {
    name: "a tool_result with numeric content",
    body: withContent([{ type: "tool_result", tool_use_id: "t", content: 5 }]),
  },
  { name: "a thinking block without thinking", body: withContent([{ type: "thinking", signature: "s" }]) },
  { name: "a block without type", body: withContent([{ text: "hi" }]) },
  { name: "a block with an empty type", body: withContent([{ type: "", text: "hi" }]) },
  { name: "a block that is a string", body: withContent(["hi"]) },
  { name: "a numeric system", body: body({ system: 7 }) },
  {
    name: "an image in system",
    body: body({ system: [{ type: "image", source: { type: "url", url: "http://x" } }] }),
  },
  { name: "temperature above 1", body: body({ temperature: 2 }) },
  { name: "temperature as a word", body: body({ temperature: "hot" }) },
  { name: "negative top_p", body: body({ top_p: -0.1 }) },
  { name: "negative top_k", body: body({ top_k: -1 }) },
  { name: "stop_sequences as a string", body: body({ stop_sequences: "END" }) },
  { name: "stream as a word", body: body({ stream: "yes" }) },
  { name: "tools as an object", body: body({ tools: { name: "f" } }) },
  { name: "a tool without name", body: body({ tools: [{ input_schema: { type: "object" } }] }) },
  { name: "a tool with a string schema", body: body({ tools: [{ name: "f", input_schema: "object" }] }) },
  { name: "an unknown tool_choice", body: body({ tool_choice: { type: "bogus" } }) },
  { name: "tool_choice tool without name", body: body({ tool_choice: { type: "tool" } }) },
  { name: "thinking enabled without budget", body: body({ thinking: { type: "enabled" } }) },
  { name: "an unknown thinking type", body: body({ thinking: { type: "maybe" } }) },
  { name: "an unknown effort", body: body({ output_config: { effort: "extreme" } }) },
  { name: "metadata as a string", body: body({ metadata: "user-1" }) },
  { name: "nesting 200 levels deep", body: body({ context_management: nested(200) }) },
  {
    name: "a __proto__ key",
    body: '{"model":"echo-1","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"__proto__":{"x":1}}',
  },
  { name: "bytes that are not UTF-8", body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) },
  {
    name: "a gzip body that is not gzip",
    body: Buffer.from("plainly not gzip"),
    headers: { "content-encoding": "gzip" },
  },
  {
    name: "a gzip body holding bad JSON",
    body: gzipSync(Buffer.from("{oops")),
    headers: { "content-encoding": "gzip" },
  },
  { name: "count_tokens without messages", body: { model: "echo-1" }, path: "/v1/messages/count_tokens" },
  { name: "count_tokens with bad JSON", body: "[[[", path: "/v1/messages/count_tokens" },
  {
    name: "count_tokens for an unknown model",
    body: { model: "nope", messages: [{ role: "user", content: "x" }] },
    path: "/v1/messages/count_tokens",
    status: 404,
  },
];

async function send(
  path: string,
  payload: Case["body"],
  headers: Record<string, string> = {},
): Promise<Response> {
  const raw = typeof payload === "string" || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
  return fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...headers },
    body: raw,
  });
}

describe("malformed input on the Messages edge", () => {
  it("has at least 40 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(CASES)("refuses $name in Anthropic's shape and serves the next request", async (item) => {
    const response = await send(item.path ?? "/v1/messages", item.body, item.headers);
    const text = await response.text();
    if (item.status !== undefined) expect(response.status).toBe(item.status);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    const answer = JSON.parse(text) as { type: string; error: { type: string; message: string } };
    expect(answer.type).toBe("error");
    expect(answer.error.type).toMatch(/^(invalid_request_error|not_found_error|request_too_large)$/);
    expect(answer.error.message).not.toMatch(/\n\s+at /);
    const next = await send("/v1/messages", VALID);
    expect(next.status).toBe(200);
    expect(((await next.json()) as { type: string }).type).toBe("message");
  });
});
