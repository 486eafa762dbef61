/**
 * Serves grpc.health.v1.Health (Check, Watch, List) on gRPC, gRPC-web and Connect, so Kubernetes gRPC probes,
 * grpc-health-probe and load balancers can check the gateway the way they check any gRPC server.
 *
 * A sibling of grpcPlugin, not wrapped in fastify-plugin: connect-fastify replaces the content-type parsers of the
 * scope it is registered in.
 */
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import type { FastifyInstance } from "fastify";
import { Health } from "../../gen/grpc/health/v1/health_pb.ts";
import { ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import { declareEdge } from "../edge/route-edge.ts";
import { drainUnreadRequest } from "../http/drain-unread-request.ts";
import type { Readiness } from "../http/readiness.ts";
import { createHealthService } from "./health-service.ts";
import { rpcRouteEdge } from "./route-edge.ts";

/** Options of grpcHealthPlugin. */
export interface GrpcHealthPluginOptions {
  readonly readiness: Readiness;
}

/** Registers `/grpc.health.v1.Health/*`. */
export async function grpcHealthPlugin(
  app: FastifyInstance,
  options: GrpcHealthPluginOptions,
): Promise<void> {
  app.addHook("onRequest", drainUnreadRequest);
  declareEdge(app, rpcRouteEdge("health", false));
  await app.register(fastifyConnectPlugin, {
    grpc: true,
    grpcWeb: true,
    connect: true,
    // Requests here name a service or a symbol: a few bytes. Refuse anything large before decoding it.
    readMaxBytes: 64 * 1024,
    routes: (router) => {
      router.service(Health, createHealthService(options.readiness, [ChatService.typeName]));
    },
  });
}
