/**
 * The RPC edges' declaration for the shared server parts (src/edge/route-edge.ts): errors go out as a gRPC,
 * gRPC-web or Connect status in the caller's own protocol (./rpc-reject.ts), with the code the gRPC edge maps
 * every ProxyError kind to (./errors.ts).
 */
import { Code } from "@connectrpc/connect";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ProxyError } from "../core/errors.ts";
import type { RouteEdge } from "../edge/route-edge.ts";
import { toConnectError } from "./errors.ts";
import { rpcProtocolOf, sendRpcError } from "./rpc-reject.ts";

/**
 * Writes `error` as an RPC status. An explicit HTTP status (404: no such service or method; 415: a content type no
 * RPC protocol here speaks) says the request never reached an RPC: it stays that HTTP status, as Connect's own
 * routers answer it, with Connect's JSON error; gRPC clients read an HTTP 404 as UNIMPLEMENTED.
 */
export function writeRpcError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: ProxyError,
  status?: number,
): FastifyReply {
  const connectError = toConnectError(error);
  if (status !== undefined) {
    const code = status === 404 ? Code.Unimplemented : connectError.code;
    return sendRpcError(request, reply, "connect-unary", code, connectError.rawMessage, status);
  }
  const protocol = rpcProtocolOf(request) ?? "connect-unary";
  return sendRpcError(request, reply, protocol, connectError.code, connectError.rawMessage);
}

/** The declaration of RPC routes labelled `api`; `modelCall` for methods that call a model. */
export function rpcRouteEdge(api: string, modelCall: boolean): RouteEdge {
  return { api, modelCall, rpc: true, writeError: writeRpcError };
}
