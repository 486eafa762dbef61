/**
 * The Connect/gRPC edge as a Fastify plugin: llmproxy.v1.ChatService and EmbeddingService over gRPC, gRPC-web and
 * Connect.
 *
 * Deliberately NOT wrapped in fastify-plugin: connect-fastify replaces every content-type parser (JSON included)
 * in the scope it is registered in, so it must stay encapsulated, a sibling of the OpenAI facade.
 * @see https://github.com/connectrpc/connect-es/blob/main/packages/connect-fastify/src/fastify-connect-plugin.ts
 */
import { setMaxListeners } from "node:events";
import {
  createContextKey,
  createContextValues,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import { EmbeddingService } from "../../gen/llmproxy/v1/embeddings_pb.ts";
import type { ChatCore } from "../core/chat-stream.ts";
import { ProxyError } from "../core/errors.ts";
import { declareEdge } from "../edge/route-edge.ts";
import { kEdgeRequest } from "./call-options.ts";
import { createChatService } from "./chat-service.ts";
import { createEmbeddingService } from "./embedding-service.ts";
import { toConnectError } from "./errors.ts";
import { createFastLane, type EndRpcSpan, type FastMethod } from "./fast-lane.ts";
import { createRequestGuard } from "./request-guard.ts";
import { rpcRouteEdge } from "./route-edge.ts";

const CHAT_EDGE = rpcRouteEdge("chat", true);
const MODELS_EDGE = rpcRouteEdge("models", false);
const EMBEDDINGS_EDGE = rpcRouteEdge("embeddings", true);

/** Connect's own default readMaxBytes (0xffffffff), used by the guard when no limit is given. */
const DEFAULT_READ_MAX_BYTES = 0xffffffff;

/** Options of grpcPlugin. */
export interface GrpcPluginOptions {
  /**
   * The core serving one RPC (a config reload swaps it; a client key may narrow it). Called once per RPC, with the
   * Fastify request, before the handler runs.
   */
  readonly getCore: (request: FastifyRequest) => ChatCore;
  /**
   * On `app.close()`, how long in-flight RPCs (long LLM streams) may run before they are aborted. Unset: close()
   * waits for them.
   */
  readonly shutdownTimeoutMs?: number;
  /**
   * Aborted (with the ProxyError to report) when shutdown ends the RPCs still in flight (src/shutdown.ts): they
   * end with its status (UNAVAILABLE for "shutting down").
   */
  readonly shutdownSignal?: AbortSignal;
  /** Largest request message in bytes (e.g. server.body_limit); larger ones fail with ResourceExhausted. */
  readonly readMaxBytes?: number;
  /** With tracing on: each call's server span, on whichever path serves it. */
  readonly tracing?: GrpcTracing;
  /**
   * Whether plain gRPC chat calls take the fast lane (./fast-lane.ts); default true. False sends every call through
   * Connect's handler: only the differential test (test/grpc/differential.test.ts) turns it off, to compare the
   * bytes of the two paths.
   */
  readonly fastLane?: boolean;
}

/** The span hooks of the two paths (instrumentation-http does not see node:http2); src/telemetry implements them. */
export interface GrpcTracing {
  /** For the calls Connect's handler serves. */
  readonly interceptors: readonly Interceptor[];
  /** For the fast lane's calls: the same span, started from the request and ended with the call's status. */
  readonly startFastLaneSpan: (request: FastifyRequest, method: string) => EndRpcSpan;
}

/** The core of one RPC, handed over from the Fastify request through the context values. */
const kCallCore = createContextKey<ChatCore | undefined>(undefined, {
  description: "llm-proxy core of the call",
});

function coreOfCall(context: HandlerContext): ChatCore {
  const core = context.values.get(kCallCore);
  if (core === undefined) {
    throw new ProxyError("internal", "Internal error in the gateway.", {
      cause: new Error("grpc: core missing from the Connect context values"),
    });
  }
  return core;
}

/** Registers ChatService's and EmbeddingService's routes (`/llmproxy.v1.…/*`) in an encapsulated scope. */
export async function grpcPlugin(app: FastifyInstance, options: GrpcPluginOptions): Promise<void> {
  // Undecodable bytes get INVALID_ARGUMENT here; Connect would report them as INTERNAL (HTTP 500). Plain gRPC
  // chat calls are served by the fast lane, traced or not.
  const pathOf = (name: string): string => `/${ChatService.typeName}/${name}`;
  // Metrics and access lines label the calls by API, and refusals answer with an RPC status.
  declareEdge(app, (url) =>
    url === pathOf("ListModels")
      ? MODELS_EDGE
      : url.startsWith(`/${EmbeddingService.typeName}/`)
        ? EMBEDDINGS_EDGE
        : CHAT_EDGE,
  );
  const fastLane =
    options.fastLane === false
      ? undefined
      : {
          lane: createFastLane({
            getCore: options.getCore,
            shutdownSignal: options.shutdownSignal,
            startSpan: options.tracing?.startFastLaneSpan,
          }),
          methods: new Map<string, FastMethod>([
            [pathOf("CreateChatCompletion"), "CreateChatCompletion"],
            [pathOf("StreamChatCompletion"), "StreamChatCompletion"],
          ]),
        };
  app.addHook(
    "preHandler",
    createRequestGuard({
      inputs: new Map(
        [...ChatService.methods, ...EmbeddingService.methods].map((method) => [
          `/${method.parent.typeName}/${method.name}`,
          method.input,
        ]),
      ),
      readMaxBytes: options.readMaxBytes ?? DEFAULT_READ_MAX_BYTES,
      fastLane,
    }),
  );
  await app.register(fastifyConnectPlugin, {
    grpc: true,
    grpcWeb: true,
    connect: true,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
    shutdownSignal: toConnectShutdown(options.shutdownSignal),
    readMaxBytes: options.readMaxBytes,
    interceptors: options.tracing === undefined ? undefined : [...options.tracing.interceptors],
    contextValues: (request) =>
      createContextValues().set(kEdgeRequest, request).set(kCallCore, options.getCore(request)),
    routes: (router) => {
      router.service(ChatService, createChatService(coreOfCall));
      router.service(EmbeddingService, createEmbeddingService(coreOfCall));
    },
  });
}

/**
 * Connect ends every in-flight RPC with its shutdown signal's reason, which must be a ConnectError to become the
 * status; each RPC adds (and removes) a listener, so the signal allows any number of them.
 */
function toConnectShutdown(signal: AbortSignal | undefined): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const abort = (): void => controller.abort(toConnectError(signal.reason));
  if (signal.aborted) abort();
  else signal.addEventListener("abort", abort, { once: true });
  return controller.signal;
}
