/**
 * Mock vendors on loopback that echo the key they received in every place an error answer could carry it, each in
 * its own wire format: OpenAI-compatible `{error:{message,type,param,code}}` and a mid-stream `data: {"error":…}`;
 * Anthropic `{type:"error",error:{type,message}}` and `event: error`; Gemini's google.rpc envelope
 * `{error:{code,message,status,details}}` and the same envelope as a stream event. The upstream model picks the
 * place: `leak-<place>` answers HTTP 401 before the stream, `leak-mid-<place>` a 200 stream whose first event is
 * some text and whose second is the error. The `header` place echoes the key in response headers instead.
 * Every key a vendor received is kept in `keys`, so a test can check that the key really went out.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type MockUpstream, startLoopbackServer, startMockUpstream } from "./mock-server.ts";

export type LeakyVendor = "openai" | "anthropic" | "gemini";

/** Where a vendor can put the key (only the fields its wire format has). */
export const LEAK_PLACES: Readonly<Record<LeakyVendor, readonly string[]>> = {
  openai: ["message", "param", "code", "type", "nested", "header", "base64", "urlencoded", "masked"],
  anthropic: ["message", "type", "nested", "header", "base64", "urlencoded", "masked"],
  gemini: ["message", "status", "nested", "header", "base64", "urlencoded", "masked"],
};

/** A mock vendor plus the keys it was sent. */
export interface LeakyUpstream extends MockUpstream {
  readonly keys: Set<string>;
}

const b64 = (text: string) => Buffer.from(text).toString("base64");
const b64url = (text: string) => Buffer.from(text).toString("base64url");

/** The text a place puts in the error's message (`undefined`: the key goes elsewhere). */
function messageFor(place: string, key: string): string | undefined {
  switch (place) {
    case "message":
      return `Invalid key ${key} (sent as Bearer ${key})`;
    case "base64":
      // The key at each of the three byte offsets base64 can start it at.
      return `Credentials ${b64(key)}, ${b64(`Bearer ${key}`)} and ${b64url(`k:${key}`)} were refused`;
    case "urlencoded": {
      const encoded = encodeURIComponent(key);
      const lower = encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());
      return `See https://vendor.invalid/v1/keys/check?key=${encoded}&again=${lower}`;
    }
    case "masked":
      return `Incorrect API key provided: ${key.slice(0, 12)}${"*".repeat(24)}${key.slice(-4)}. Also tried ${key.slice(0, 8)}...${key.slice(-4)}.`;
    default:
      return undefined;
  }
}

/** Nested JSON a vendor adds (OpenRouter's `metadata.raw`, Google's ErrorInfo metadata). */
const nested = (key: string) => ({
  raw: JSON.stringify({ error: { key } }),
  auth: [{ header: `Bearer ${key}` }],
});

function openAIError(place: string, key: string): object {
  return {
    message: messageFor(place, key) ?? "Invalid request.",
    type: place === "type" ? key : "invalid_request_error",
    param: place === "param" ? key : null,
    code: place === "code" ? key : "invalid_api_key",
    ...(place === "nested" ? { metadata: nested(key) } : {}),
  };
}

function anthropicError(place: string, key: string): object {
  return {
    type: "error",
    error: {
      type: place === "type" ? key : "authentication_error",
      message: messageFor(place, key) ?? "invalid x-api-key",
      ...(place === "nested" ? { details: nested(key) } : {}),
    },
    request_id: "req_011Leaky",
  };
}

function geminiError(place: string, key: string, code: number): object {
  return {
    error: {
      code,
      message: messageFor(place, key) ?? "API key not valid. Please pass a valid API key.",
      status: place === "status" ? key : code === 401 ? "UNAUTHENTICATED" : "INTERNAL",
      details: [
        {
          "@type": "type.googleapis.com/google.rpc.ErrorInfo",
          reason: "API_KEY_INVALID",
          domain: "googleapis.com",
          metadata: place === "nested" ? { service: "generativelanguage.googleapis.com", key } : {},
        },
      ],
    },
  };
}

function headersFor(place: string, key: string, contentType: string): Record<string, string> {
  if (place !== "header") return { "content-type": contentType };
  return {
    "content-type": contentType,
    "x-echo-key": key,
    "x-echo-key-b64": b64(key),
    "www-authenticate": `Bearer error="invalid_token", key="${encodeURIComponent(key)}"`,
  };
}

const SSE = "text/event-stream; charset=utf-8";

/** The first event of a stream (some text), then the error as the vendor sends it mid-stream. */
function streamEvents(vendor: LeakyVendor, place: string, key: string): string {
  const text = "Half an answer";
  if (vendor === "openai") {
    const chunk = {
      id: "c1",
      object: "chat.completion.chunk",
      created: 1,
      model: "m",
      choices: [] as object[],
    };
    chunk.choices.push({ index: 0, delta: { role: "assistant", content: text }, finish_reason: null });
    return `data: ${JSON.stringify(chunk)}\n\ndata: ${JSON.stringify({ error: openAIError(place, key) })}\n\n`;
  }
  if (vendor === "anthropic") {
    const event = (name: string, data: object) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    const usage = { input_tokens: 5, output_tokens: 1 };
    const message = { id: "msg_1", type: "message", role: "assistant", model: "m", content: [], usage };
    return [
      event("message_start", { type: "message_start", message }),
      event("content_block_start", {
        type: "content_block_start",
        index: 0,
        content_block: { type: "text", text: "" },
      }),
      event("content_block_delta", {
        type: "content_block_delta",
        index: 0,
        delta: { type: "text_delta", text },
      }),
      event("error", anthropicError(place, key)),
    ].join("");
  }
  const chunk = {
    candidates: [{ content: { role: "model", parts: [{ text }] }, index: 0 }],
    modelVersion: "gemini-mock-001",
    responseId: "r1",
  };
  return `data: ${JSON.stringify(chunk)}\r\n\r\ndata: ${JSON.stringify(geminiError(place, key, 500))}\r\n\r\n`;
}

function errorBody(vendor: LeakyVendor, place: string, key: string): object {
  if (vendor === "openai") return { error: openAIError(place, key) };
  if (vendor === "anthropic") return anthropicError(place, key);
  return geminiError(place, key, 401);
}

function keyOf(vendor: LeakyVendor, request: IncomingMessage): string {
  if (vendor === "anthropic") return String(request.headers["x-api-key"]);
  if (vendor === "gemini") return String(request.headers["x-goog-api-key"]);
  return String(request.headers.authorization).replace(/^Bearer /, "");
}

function modelOf(vendor: LeakyVendor, url: string, body: Record<string, unknown>): string {
  if (vendor !== "gemini") return String(body.model);
  return decodeURIComponent(/\/models\/([^/:]+):/.exec(url)?.[1] ?? "");
}

/** Starts one leaky vendor on 127.0.0.1; its base URL has the vendor's own API prefix. */
export async function startLeakyVendor(vendor: LeakyVendor): Promise<LeakyUpstream> {
  const keys = new Set<string>();
  const upstream = await startMockUpstream(
    vendor === "gemini" ? "/v1beta" : "/v1",
    ({ url, body }, request, response: ServerResponse) => {
      const key = keyOf(vendor, request);
      keys.add(key);
      const match = /^leak-(mid-)?(\w+)$/.exec(modelOf(vendor, url, body));
      const place = match?.[2] ?? "message";
      if (match?.[1] === undefined) {
        response.writeHead(401, headersFor(place, key, "application/json"));
        response.end(JSON.stringify(errorBody(vendor, place, key)));
        return;
      }
      response.writeHead(200, headersFor(place, key, SSE));
      response.end(streamEvents(vendor, place, key));
    },
  );
  return { ...upstream, keys };
}

/** The forms of a secret that must not appear anywhere: itself, its encodings, and the pieces a masked echo shows. */
export function leakForms(value: string): Record<string, string> {
  const encoded = encodeURIComponent(value);
  const forms: Record<string, string> = {
    verbatim: value,
    "random part": value.slice(-24),
    "URL-encoded": encoded,
    "URL-encoded, lower-case hex": encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
    "masked prefix": value.slice(0, 12),
    "masked suffix": `***${value.slice(-4)}`,
    "elided suffix": `...${value.slice(-4)}`,
  };
  // Base64 at each byte offset it can start at, less the characters that depend on the bytes around it.
  for (const offset of [0, 1, 2]) {
    const bytes = Buffer.concat([Buffer.alloc(offset), Buffer.from(value)]);
    forms[`base64 at ${offset}`] = bytes.toString("base64").slice(4, -4);
    forms[`base64url at ${offset}`] = bytes.toString("base64url").slice(4, -4);
  }
  return forms;
}

/** An OpenAI-compatible vendor that echoes the Authorization header it got, in every way a vendor could. */
export async function startEchoingVendor(): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server = await startLoopbackServer((req, raw, res) => {
    const auth = String(req.headers.authorization);
    seen.push(auth, String(req.headers["x-extra-token"]));
    const model = (JSON.parse(raw) as { model: string }).model;
    if (model === "leak-401" || model === "leak-500") {
      res.writeHead(model === "leak-401" ? 401 : 500, {
        "content-type": "application/json",
        "x-echo": auth,
      });
      res.end(
        JSON.stringify({
          error: {
            message: `Incorrect API key provided: ${auth}`,
            type: "invalid_request_error",
            code: "invalid_api_key",
          },
        }),
      );
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.write(chunk({ role: "assistant", content: "fine" }, null));
    if (model === "leak-midstream") {
      res.end(
        `data: ${JSON.stringify({ error: { message: `stream broke for key ${auth}`, type: "server_error" } })}\n\n`,
      );
      return;
    }
    res.end(`${chunk({}, "stop")}data: [DONE]\n\n`);
  });
  return { url: `${server.origin}/v1`, seen, close: server.close };
}

/** An OTLP/HTTP collector that keeps every export it receives (the spans, as JSON text). */
export async function startCollector(): Promise<{ url: string; exports: string[]; close(): Promise<void> }> {
  const exports: string[] = [];
  const server = await startLoopbackServer((_req, raw, res) => {
    exports.push(raw);
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  });
  return { url: server.origin, exports, close: server.close };
}
