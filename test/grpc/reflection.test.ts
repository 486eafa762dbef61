/**
 * gRPC server reflection on the real gateway: `buf curl` lists and calls ChatService with no proto files at hand
 * (run from an empty folder, no --schema), over reflection v1 and v1alpha (what grpcurl-style tools use), and a
 * v1alpha client checks every query kind, including the descriptors being complete enough to rebuild the service.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ExtensionRequestSchema,
  ServerReflection,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { type BufCurlOutcome, bufCurl, parseBufMessages } from "../helpers/buf-curl.ts";
import { ECHO_CONFIG } from "../helpers/build-app.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

/** An empty folder: nothing for buf to find a schema in, as on a client's machine. */
const EMPTY_DIR = mkdtempSync(join(tmpdir(), "llm-proxy-reflection-"));

const CHAT_METHODS = [
  "llmproxy.v1.ChatService/CreateChatCompletion",
  "llmproxy.v1.ChatService/ListModels",
  "llmproxy.v1.ChatService/StreamChatCompletion",
];

let server: RunningServer;

beforeAll(async () => {
  server = await startServer(ECHO_CONFIG);
});
afterAll(async () => {
  await server.close();
});

function bufCurlFromEmptyDir(args: readonly string[]): Promise<BufCurlOutcome> {
  return bufCurl(args, EMPTY_DIR);
}

describe("buf curl without --schema", () => {
  it("lists the three ChatService RPCs (reflection v1, Connect protocol: buf's default)", async () => {
    const outcome = await bufCurlFromEmptyDir(["--list-methods", server.url]);
    expect(outcome.exitCode, outcome.stderr).toBe(0);
    const methods = outcome.stdout.trim().split("\n");
    expect(methods).toEqual(expect.arrayContaining(CHAT_METHODS));
    expect(methods).toEqual(
      expect.arrayContaining(["grpc.health.v1.Health/Check", "grpc.health.v1.Health/Watch"]),
    );
  });

  it("lists them over gRPC with reflection v1alpha, as grpcurl-style tools ask", async () => {
    const outcome = await bufCurlFromEmptyDir([
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--reflect-protocol",
      "grpc-v1alpha",
      "--list-methods",
      server.url,
    ]);
    expect(outcome.exitCode, outcome.stderr).toBe(0);
    expect(outcome.stdout.trim().split("\n")).toEqual(expect.arrayContaining(CHAT_METHODS));
  });

  it("calls StreamChatCompletion over gRPC with the schema from reflection", async () => {
    const outcome = await bufCurlFromEmptyDir([
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "-d",
      JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "hello reflection" }] }),
      `${server.url}/llmproxy.v1.ChatService/StreamChatCompletion`,
    ]);
    expect(outcome.exitCode, outcome.stderr).toBe(0);
    const messages = parseBufMessages(outcome.stdout) as { choices?: { delta?: { content?: string } }[] }[];
    const text = messages.map((message) => message.choices?.[0]?.delta?.content ?? "").join("");
    expect(text).toBe("hello reflection");
  });

  it("calls CreateChatCompletion over Connect (HTTP/1.1) the same way", async () => {
    const outcome = await bufCurlFromEmptyDir([
      "-d",
      JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "unary via reflection" }] }),
      `${server.url}/llmproxy.v1.ChatService/CreateChatCompletion`,
    ]);
    expect(outcome.exitCode, outcome.stderr).toBe(0);
    expect(JSON.parse(outcome.stdout)).toMatchObject({
      object: "chat.completion",
      choices: [{ message: { content: "unary via reflection" }, finishReason: "stop" }],
    });
  });
});

describe("ServerReflectionInfo (v1alpha, one stream, every query kind)", () => {
  type Query = ServerReflectionRequest["messageRequest"];
  const QUERIES: Query[] = [
    { case: "listServices", value: "" },
    { case: "fileContainingSymbol", value: "llmproxy.v1.ChatService" },
    { case: "fileContainingSymbol", value: "llmproxy.v1.ChatService.StreamChatCompletion" },
    { case: "fileContainingSymbol", value: "grpc.health.v1.HealthCheckResponse.SERVING" },
    { case: "fileByFilename", value: "google/protobuf/struct.proto" },
    { case: "fileContainingSymbol", value: "no.such.Symbol" },
    { case: "allExtensionNumbersOfType", value: "llmproxy.v1.ChatMessage" },
    {
      case: "fileContainingExtension",
      value: create(ExtensionRequestSchema, {
        containingType: "llmproxy.v1.ChatMessage",
        extensionNumber: 100,
      }),
    },
  ];

  async function ask(queries: Query[]): Promise<ServerReflectionResponse[]> {
    const client = createClient(ServerReflection, createGrpcTransport({ baseUrl: server.url }));
    async function* requests() {
      for (const messageRequest of queries) yield { host: "gateway.test", messageRequest };
    }
    const responses: ServerReflectionResponse[] = [];
    for await (const response of client.serverReflectionInfo(requests(), { timeoutMs: 10_000 })) {
      responses.push(response);
    }
    return responses;
  }

  const fileNames = (response: ServerReflectionResponse | undefined): string[] =>
    response?.messageResponse.case === "fileDescriptorResponse"
      ? response.messageResponse.value.fileDescriptorProto.map(
          (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
        )
      : [];

  it("answers each request in order, echoing it, with the right kind of answer", async () => {
    const responses = await ask(QUERIES);
    expect(responses).toHaveLength(QUERIES.length);
    for (const [index, response] of responses.entries()) {
      expect(response.validHost).toBe("gateway.test");
      expect(response.originalRequest?.messageRequest).toMatchObject(QUERIES[index] ?? {});
    }
    const [list, service, method, enumValue, byName, missing, extensionNumbers, extension] = responses;
    expect(list?.messageResponse).toMatchObject({ case: "listServicesResponse" });
    const services =
      list?.messageResponse.case === "listServicesResponse" ? list.messageResponse.value.service : [];
    expect(services.map((entry) => entry.name).sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "llmproxy.v1.ChatService",
      "llmproxy.v1.EmbeddingService",
    ]);
    // The file first, then what it imports, so a client can build its descriptor pool from one answer.
    expect(fileNames(service)).toEqual(["llmproxy/v1/chat.proto", "google/protobuf/struct.proto"]);
    expect(fileNames(method)).toEqual(fileNames(service));
    expect(fileNames(enumValue)).toEqual(["grpc/health/v1/health.proto"]);
    expect(fileNames(byName)).toEqual(["google/protobuf/struct.proto"]);
    for (const notFound of [missing, extension]) {
      expect(notFound?.messageResponse).toMatchObject({
        case: "errorResponse",
        value: { errorCode: Code.NotFound },
      });
    }
    expect(extensionNumbers?.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "llmproxy.v1.ChatMessage", extensionNumber: [] },
    });
  });

  it("serves descriptors complete enough to rebuild ChatService and its messages", async () => {
    const [answer] = await ask([{ case: "fileContainingSymbol", value: "llmproxy.v1.ChatService" }]);
    const files =
      answer?.messageResponse.case === "fileDescriptorResponse"
        ? answer.messageResponse.value.fileDescriptorProto.map((bytes) =>
            fromBinary(FileDescriptorProtoSchema, bytes),
          )
        : [];
    // A FileDescriptorSet lists imports first; the answer lists the asked-for file first.
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: files.reverse() }));
    const service = registry.getService("llmproxy.v1.ChatService");
    expect(service?.methods.map((m) => [m.name, m.methodKind])).toEqual([
      ["CreateChatCompletion", "unary"],
      ["StreamChatCompletion", "server_streaming"],
      ["ListModels", "unary"],
    ]);
    const request = registry.getMessage("llmproxy.v1.CreateChatCompletionRequest");
    expect(request?.fields.map((field) => field.name)).toEqual(
      expect.arrayContaining(["model", "messages", "tools"]),
    );
  });
});
