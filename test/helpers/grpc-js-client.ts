/**
 * The ChatService client users build with @grpc/grpc-js, as README shows: chat.proto loaded at run time with
 * @grpc/proto-loader (no generated code), snake_case field names (keepCase), int64 as strings and proto3
 * defaults left out (so an absent field reads as undefined). Plus the two ways tests read a server stream.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** The fields tests read from a StreamChatCompletion message. */
export interface GrpcChunk {
  /** Absent on the usage-only chunk (an empty repeated field with defaults: false). */
  readonly choices?: readonly {
    readonly delta?: {
      readonly content?: string;
      readonly tool_calls?: readonly {
        /** proto3 leaves index 0 off the wire: undefined means 0. */
        readonly index?: number;
        readonly id?: string;
        readonly function?: { readonly name?: string; readonly arguments?: string };
      }[];
    };
    readonly finish_reason?: string;
  }[];
  readonly usage?: Readonly<Record<string, number>>;
}

/** The fields tests read from a CreateChatCompletion answer. */
export interface GrpcChatResponse {
  readonly choices?: readonly { readonly message?: { readonly content?: string } }[];
}

type UnaryCallback = (error: grpc.ServiceError | null, response?: GrpcChatResponse) => void;

/** The client class proto-loader builds for llmproxy.v1.ChatService. */
export interface GrpcChatClient extends grpc.Client {
  StreamChatCompletion(
    request: object,
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<GrpcChunk>;
  CreateChatCompletion(request: object, callback: UnaryCallback): grpc.ClientUnaryCall;
  CreateChatCompletion(
    request: object,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: UnaryCallback,
  ): grpc.ClientUnaryCall;
}

type GrpcChatClientClass = new (address: string, credentials: grpc.ChannelCredentials) => GrpcChatClient;

let clientClass: GrpcChatClientClass | undefined;

function loadClientClass(): GrpcChatClientClass {
  const definition = protoLoader.loadSync("proto/llmproxy/v1/chat.proto", {
    keepCase: true,
    longs: String,
    defaults: false,
  });
  const proto = grpc.loadPackageDefinition(definition) as unknown as {
    llmproxy: { v1: { ChatService: GrpcChatClientClass } };
  };
  return proto.llmproxy.v1.ChatService;
}

/** Connects to the gateway's port: h2c on 127.0.0.1 unless a host and TLS credentials are given. */
export function grpcChatClient(
  port: number,
  options: { readonly host?: string; readonly credentials?: grpc.ChannelCredentials } = {},
): GrpcChatClient {
  clientClass ??= loadClientClass();
  return new clientClass(
    `${options.host ?? "127.0.0.1"}:${port}`,
    options.credentials ?? grpc.credentials.createInsecure(),
  );
}

/** Call metadata carrying an x-request-id. */
export function requestIdMetadata(requestId: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("x-request-id", requestId);
  return metadata;
}

/** Every message of a server stream that must succeed; rejects with the call's error. */
export function collectMessages<T>(call: grpc.ClientReadableStream<T>): Promise<T[]> {
  const messages: T[] = [];
  return new Promise((resolve, reject) => {
    call.on("data", (message: T) => messages.push(message));
    call.on("end", () => resolve(messages));
    call.on("error", reject);
  });
}

/** Every message of a server stream and the error it ended with (undefined: it ended OK). */
export function collectMessagesAndError<T>(
  call: grpc.ClientReadableStream<T>,
): Promise<{ messages: T[]; error: grpc.ServiceError | undefined }> {
  const messages: T[] = [];
  return new Promise((resolve) => {
    call.on("data", (message: T) => messages.push(message));
    call.on("end", () => resolve({ messages, error: undefined }));
    call.on("error", (error: grpc.ServiceError) => resolve({ messages, error }));
  });
}
