/**
 * Serves gRPC server reflection (`grpc.reflection.v1` and `grpc.reflection.v1alpha`, ServerReflectionInfo, a bidi
 * stream, so HTTP/2 only) for every gRPC service of the gateway. No npm package does this for Connect v2.
 *
 * A sibling of grpcPlugin, not wrapped in fastify-plugin, for the same reason: connect-fastify replaces the
 * content-type parsers of the scope it is registered in.
 * @see https://github.com/grpc/grpc/blob/master/doc/server-reflection.md
 */
import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import type { FastifyInstance } from "fastify";
import { Health } from "../../gen/grpc/health/v1/health_pb.ts";
import {
  ServerReflection,
  type ServerReflectionRequest,
} from "../../gen/grpc/reflection/v1/reflection_pb.ts";
import {
  type ServerReflectionRequest as ServerReflectionRequestV1alpha,
  ServerReflection as ServerReflectionV1alpha,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import { EmbeddingService } from "../../gen/llmproxy/v1/embeddings_pb.ts";
import { declareEdge } from "../edge/route-edge.ts";
import { drainUnreadRequest } from "../http/drain-unread-request.ts";
import { createReflectionIndex, type ReflectionIndex, type ReflectionQuery } from "./reflection-service.ts";
import { rpcRouteEdge } from "./route-edge.ts";

/** Every gRPC service the gateway serves; reflection lists these. */
export const SERVED_SERVICES: readonly DescService[] = [
  ChatService,
  EmbeddingService,
  Health,
  ServerReflection,
  ServerReflectionV1alpha,
];

/** Options of grpcReflectionPlugin. */
export interface GrpcReflectionPluginOptions {
  /**
   * On `app.close()`, how long an open reflection stream may stay before it is aborted. Clients open one per
   * command and close it, but an idle one (a GUI client) must not hold shutdown up.
   */
  readonly shutdownTimeoutMs?: number;
}

/** The one handler shape of both versions: answer each request on the stream, in order. */
function reflectionImpl<Request extends { host: string; messageRequest: ReflectionQuery }>(
  index: ReflectionIndex,
) {
  return {
    async *serverReflectionInfo(requests: AsyncIterable<Request>) {
      for await (const request of requests) {
        yield {
          validHost: request.host,
          originalRequest: request,
          messageResponse: index.answer(request.messageRequest),
        };
      }
    },
  };
}

/** Registers `/grpc.reflection.v1.ServerReflection/*` and `/grpc.reflection.v1alpha.ServerReflection/*`. */
export async function grpcReflectionPlugin(
  app: FastifyInstance,
  options: GrpcReflectionPluginOptions = {},
): Promise<void> {
  app.addHook("onRequest", drainUnreadRequest);
  declareEdge(app, rpcRouteEdge("reflection", false));
  const index = createReflectionIndex(SERVED_SERVICES);
  const v1: ServiceImpl<typeof ServerReflection> = reflectionImpl<ServerReflectionRequest>(index);
  const v1alpha: ServiceImpl<typeof ServerReflectionV1alpha> =
    reflectionImpl<ServerReflectionRequestV1alpha>(index);
  await app.register(fastifyConnectPlugin, {
    // All three: `buf curl` reflects over the protocol of the call it makes (Connect by default).
    grpc: true,
    grpcWeb: true,
    connect: true,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 1_000,
    // Requests here name a service or a symbol: a few bytes. Refuse anything large before decoding it.
    readMaxBytes: 64 * 1024,
    routes: (router) => {
      router.service(ServerReflection, v1);
      router.service(ServerReflectionV1alpha, v1alpha);
    },
  });
}
