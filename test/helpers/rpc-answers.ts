/**
 * ChatService calls whose whole answer comes back as text, for tests that search what a client can see:
 * Connect (unary JSON, or a Connect stream) and gRPC-web with the JSON codec over HTTP/1.1 through undici (status,
 * headers, trailers and every body byte, gRPC-web's trailer frame included), and grpc-js (messages, status code,
 * details and trailing metadata).
 */
import * as grpc from "@grpc/grpc-js";
import { request } from "undici";
import { collectMessagesAndError, grpcChatClient } from "./grpc-js-client.ts";

/** How the undici calls frame the request. */
export type HttpRpcProtocol = "connect" | "connect-stream" | "grpc-web";

/** A one-message chat request for `model`, as proto JSON (grpc-js with keepCase reads the same names). */
export const chatMessage = (model: string) => ({ model, messages: [{ role: "user", content: "hello" }] });

/** JSON with bigints (proto int64) as strings. */
const stringify = (value: unknown) =>
  JSON.stringify(value, (_key, item) => (typeof item === "bigint" ? String(item) : item));

/** One length-prefixed message (flags 0), as Connect streams and gRPC-web frame them. */
function envelope(json: object): Buffer {
  const payload = Buffer.from(JSON.stringify(json));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

const FRAMING: Readonly<Record<HttpRpcProtocol, { type: string; headers: Record<string, string> }>> = {
  connect: { type: "application/json", headers: { "connect-protocol-version": "1" } },
  "connect-stream": { type: "application/connect+json", headers: { "connect-protocol-version": "1" } },
  "grpc-web": { type: "application/grpc-web+json", headers: { "x-grpc-web": "1" } },
};

/** One call to `/llmproxy.v1.ChatService/<method>`: `<status> <headers> <trailers> <body>`. */
export async function httpRpcAnswer(
  port: number,
  key: string,
  protocol: HttpRpcProtocol,
  method: string,
  message: object,
): Promise<string> {
  const { type, headers } = FRAMING[protocol];
  const response = await request(`http://127.0.0.1:${port}/llmproxy.v1.ChatService/${method}`, {
    method: "POST",
    headers: { "content-type": type, authorization: `Bearer ${key}`, ...headers },
    body: protocol === "connect" ? JSON.stringify(message) : envelope(message),
  });
  const body = Buffer.from(await response.body.arrayBuffer()).toString("utf8");
  return `${response.statusCode} ${JSON.stringify(response.headers)} ${JSON.stringify(response.trailers)} ${body}`;
}

/** One grpc-js call (StreamChatCompletion when `stream`, else CreateChatCompletion), as JSON. */
export async function grpcJsAnswer(
  port: number,
  key: string,
  message: object,
  stream: boolean,
): Promise<string> {
  const client = grpcChatClient(port);
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${key}`);
  try {
    const { messages, error } = stream
      ? await collectMessagesAndError(client.StreamChatCompletion(message, metadata))
      : await new Promise<{ messages: unknown[]; error: grpc.ServiceError | undefined }>((resolve) => {
          client.CreateChatCompletion(message, metadata, {}, (error, response) =>
            resolve({ messages: response === undefined ? [] : [response], error: error ?? undefined }),
          );
        });
    return stringify({
      messages,
      code: error?.code,
      details: error?.details,
      message: error?.message,
      trailers: error?.metadata.getMap(),
    });
  } finally {
    client.close();
  }
}
