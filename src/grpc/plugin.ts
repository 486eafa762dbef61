/**
 * The Connect/gRPC edge as a Fastify plugin: llmproxy.v1.ChatService over gRPC, gRPC-web and Connect.
 *
 * Deliberately NOT wrapped in fastify-plugin: connect-fastify replaces every content-type parser (JSON included)
 * in the scope it is registered in, so it must stay encapsulated, a sibling of the OpenAI facade.
 * @see https://github.com/connectrpc/connect-es/blob/main/packages/connect-fastify/src/fastify-connect-plugin.ts
 */
import { createContextValues, type Interceptor } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import type { FastifyInstance } from "fastify";
import { ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import type { ChatCore } from "../core/chat-stream.ts";
import { kRequestScope } from "./call-options.ts";
import { createChatService } from "./chat-service.ts";

/** Options of grpcPlugin. */
export interface GrpcPluginOptions {
  /** The current core; a getter because a config reload swaps it. Called once per RPC. */
  readonly getCore: () => ChatCore;
  /**
   * On `app.close()`, how long in-flight RPCs (long LLM streams) may run before they are aborted. Unset: close()
   * waits for them.
   */
  readonly shutdownTimeoutMs?: number;
  /** Largest request message in bytes (e.g. server.body_limit); larger ones fail with ResourceExhausted. */
  readonly readMaxBytes?: number;
  /** Connect interceptors, e.g. tracing (instrumentation-http does not see node:http2). */
  readonly interceptors?: readonly Interceptor[];
}

/** Registers ChatService's routes (`/llmproxy.v1.ChatService/*`) in an encapsulated scope. */
export async function grpcPlugin(app: FastifyInstance, options: GrpcPluginOptions): Promise<void> {
  await app.register(fastifyConnectPlugin, {
    grpc: true,
    grpcWeb: true,
    connect: true,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
    readMaxBytes: options.readMaxBytes,
    interceptors: options.interceptors === undefined ? undefined : [...options.interceptors],
    contextValues: (request) =>
      createContextValues().set(kRequestScope, { id: request.id, log: request.log }),
    routes: (router) => {
      router.service(ChatService, createChatService(options.getCore));
    },
  });
}
