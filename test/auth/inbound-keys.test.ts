/**
 * Inbound keys through real sockets, on both protocols: the OpenAI routes answer 401 in OpenAI's envelope, every
 * RPC protocol (gRPC, gRPC-web, Connect unary and streaming, and @grpc/grpc-js) gets UNAUTHENTICATED; plain,
 * hashed and variable-held keys work; a key's model allow list is enforced (answered as an unknown model) and
 * narrows the model list; open routes stay open; admin routes take only admin keys.
 */
import { createHash } from "node:crypto";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import { type FileServer, startFileServer } from "../admin/file-server.ts";
import { grpcChatClient } from "../helpers/grpc-js-client.ts";

const PLAIN = "sk-inbound-plain-0123456789abcdef";
const HASHED = "sk-inbound-hashed-0123456789abcdef";
const FROM_ENV = "sk-inbound-env-0123456789abcdef";
const LIMITED = "sk-inbound-limited-0123456789abcdef";
const ADMIN = "sk-admin-0123456789abcdef-admin";

const YAML = `
model_config: {echo-1: echo, echo-2: echo, other-1: echo}
proxy: {default_model: echo-1, max_retries: 0}
auth:
  keys:
    - {name: plain, key: ${PLAIN}}
    - {name: hashed, key_sha256: ${createHash("sha256").update(HASHED).digest("hex")}}
    - {name: from-env, key_env: INBOUND_KEY}
    - {name: limited, key: ${LIMITED}, models: [other-1, "echo-2*"]}
  admin_keys:
    - {name: ops, key: ${ADMIN}}
`;

let server: FileServer;
const sessions: Http2SessionManager[] = [];

beforeAll(async () => {
  server = await startFileServer(YAML, { env: { INBOUND_KEY: FROM_ENV } });
});
afterAll(async () => {
  for (const session of sessions) session.abort();
  await server.close();
});

async function chat(key: string | undefined, model = "echo-1") {
  const response = await request(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
    },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi there" }] }),
  });
  const body = (await response.body.json()) as { error: { message: string; code: string } };
  return { status: response.statusCode, headers: response.headers, body };
}

describe("HTTP routes", () => {
  it("refuse a request without a key or with a wrong one, in OpenAI's envelope", async () => {
    for (const key of [undefined, "sk-not-a-key-at-all-000000000", ADMIN]) {
      const answer = await chat(key);
      expect(answer.status).toBe(401);
      expect(answer.headers["www-authenticate"]).toMatch(/^Bearer/);
      expect(answer.headers["x-request-id"]).toBeTruthy();
      expect(answer.body).toEqual({
        error: {
          message: "Missing or invalid API key: send it as 'Authorization: Bearer <key>'.",
          type: "authentication_error",
          param: null,
          code: "invalid_api_key",
        },
      });
    }
  });

  it("accept plain, hashed and variable-held keys (the scheme in any case)", async () => {
    expect((await chat(PLAIN)).status).toBe(200);
    expect((await chat(HASHED)).status).toBe(200);
    expect((await chat(FROM_ENV)).status).toBe(200);
    const lower = await request(`${server.url}/v1/models`, { headers: { authorization: `bearer ${PLAIN}` } });
    expect(lower.statusCode).toBe(200);
    await lower.body.dump();
  });

  it("refuse unknown routes without a key, so they reveal nothing", async () => {
    const response = await request(`${server.url}/v1/secret-route`);
    expect(response.statusCode).toBe(401);
    await response.body.dump();
  });

  it("leave health and readiness open", async () => {
    for (const path of ["/health", "/ready"]) {
      const response = await request(`${server.url}${path}`);
      expect(response.statusCode, path).toBe(200);
      await response.body.dump();
    }
  });

  it("enforce a key's model allow list as if other models did not exist, and narrow /v1/models", async () => {
    expect((await chat(LIMITED, "other-1")).status).toBe(200);
    expect((await chat(LIMITED, "echo-2")).status).toBe(200);
    const refused = await chat(LIMITED, "echo-1");
    const unknown = await chat(PLAIN, "no-such-model");
    expect(refused.status).toBe(404);
    expect(refused.body.error.code).toBe("model_not_found");
    expect(refused.body.error.message).toBe(unknown.body.error.message.replace("no-such-model", "echo-1"));
    const listed = await request(`${server.url}/v1/models`, {
      headers: { authorization: `Bearer ${LIMITED}` },
    });
    expect(((await listed.body.json()) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual([
      "echo-2",
      "other-1",
    ]);
  });

  it("open /config and /config/reload to admin keys only", async () => {
    const get = async (key: string | undefined, path = "/config", method: "GET" | "POST" = "GET") => {
      const response = await request(`${server.url}${path}`, {
        method,
        headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
      });
      await response.body.dump();
      return response.statusCode;
    };
    expect(await get(undefined)).toBe(401);
    expect(await get(PLAIN)).toBe(401);
    expect(await get(ADMIN)).toBe(200);
    expect(await get(PLAIN, "/config/reload", "POST")).toBe(401);
    expect(await get(ADMIN, "/config/reload", "POST")).toBe(200);
  });
});

describe("RPC protocols", () => {
  const h2 = (): Http2SessionManager => {
    const session = new Http2SessionManager(server.url);
    sessions.push(session);
    return session;
  };
  const TRANSPORTS: readonly { name: string; make: (headers: Record<string, string>) => Transport }[] = [
    {
      name: "gRPC (h2c)",
      make: (headers) =>
        withHeaders(createGrpcTransport({ baseUrl: server.url, sessionManager: h2() }), headers),
    },
    {
      name: "gRPC-web (HTTP/1.1)",
      make: (headers) =>
        withHeaders(createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }), headers),
    },
    {
      name: "Connect (HTTP/1.1)",
      make: (headers) =>
        withHeaders(createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }), headers),
    },
    {
      name: "Connect (h2c)",
      make: (headers) =>
        withHeaders(
          createConnectTransport({ baseUrl: server.url, httpVersion: "2", sessionManager: h2() }),
          headers,
        ),
    },
  ];

  for (const transport of TRANSPORTS) {
    it(`${transport.name}: UNAUTHENTICATED without a key, unary and streaming; served with one`, async () => {
      const anonymous = createClient(ChatService, transport.make({}));
      const message = { model: "echo-1", messages: [{ role: "user", content: "hello rpc" }] };
      const unary = await anonymous.createChatCompletion(message).catch((error: unknown) => error);
      expect(ConnectError.from(unary).code).toBe(Code.Unauthenticated);
      expect(ConnectError.from(unary).rawMessage).toMatch(/Missing or invalid API key/);
      const streamed = await collect(anonymous.streamChatCompletion(message)).catch(
        (error: unknown) => error,
      );
      expect(ConnectError.from(streamed).code).toBe(Code.Unauthenticated);
      expect(ConnectError.from(streamed).rawMessage).toMatch(/Missing or invalid API key/);

      const keyed = createClient(ChatService, transport.make({ authorization: `Bearer ${PLAIN}` }));
      const answer = await keyed.createChatCompletion(message);
      expect(answer.choices[0]?.message?.content).toBe("hello rpc");
      const chunks = await collect(keyed.streamChatCompletion(message));
      expect(chunks.length).toBeGreaterThan(0);
    });
  }

  it("enforce the model allow list and narrow ListModels", async () => {
    const client = createClient(
      ChatService,
      withHeaders(createGrpcTransport({ baseUrl: server.url, sessionManager: h2() }), {
        authorization: `Bearer ${LIMITED}`,
      }),
    );
    const refused = await client
      .createChatCompletion({ model: "echo-1", messages: [{ role: "user", content: "x" }] })
      .catch((error: unknown) => error);
    expect(ConnectError.from(refused).code).toBe(Code.NotFound);
    const listed = await client.listModels({});
    expect(listed.data.map((model) => model.id)).toEqual(["echo-2", "other-1"]);
  });

  it("@grpc/grpc-js reads the trailers-only refusal as UNAUTHENTICATED with the message", async () => {
    const client = grpcChatClient(server.port);
    const call = (metadata: grpc.Metadata) =>
      new Promise<{ error: grpc.ServiceError | null }>((resolve) => {
        client.CreateChatCompletion(
          { model: "echo-1", messages: [{ role: "user", content: "hi" }] },
          metadata,
          {},
          (error) => resolve({ error }),
        );
      });
    const refused = await call(new grpc.Metadata());
    expect(refused.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(refused.error?.details).toMatch(/Missing or invalid API key/);
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${HASHED}`);
    expect((await call(metadata)).error).toBeNull();
    client.close();
  });
});

function withHeaders(transport: Transport, headers: Record<string, string>): Transport {
  return {
    unary: (method, signal, timeoutMs, header, input, contextValues) =>
      transport.unary(method, signal, timeoutMs, merge(header, headers), input, contextValues),
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      transport.stream(method, signal, timeoutMs, merge(header, headers), input, contextValues),
  };
}

function merge(init: ConstructorParameters<typeof Headers>[0], extra: Record<string, string>): Headers {
  const headers = new Headers(init);
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  return headers;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
