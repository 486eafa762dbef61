/**
 * What a route declares about the edge that serves it, so that the shared parts of the server (the error and
 * not-found handlers, the auth hook, the body limits, metrics and the access line) answer and label each request
 * the way its edge speaks, instead of keeping lists of routes. An edge plugin calls `declareEdge` before it
 * registers its routes; a route may also carry its own declaration in its Fastify `config.edge`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ProxyError } from "../core/errors.ts";

/** One edge's declaration. */
export interface RouteEdge {
  /** The API label of metrics and access lines: `chat`, `models`, and later `responses`, `messages`, `embeddings`. */
  readonly api: string;
  /** Whether requests call a model: they are counted in the request metrics, with attempts on the access line. */
  readonly modelCall: boolean;
  /** An RPC route (gRPC, gRPC-web and Connect, told apart by content type) rather than plain HTTP. */
  readonly rpc: boolean;
  /**
   * Writes `error` as this edge's error answer (status, headers, body in its protocol's shape) and ends it.
   * `status` overrides the HTTP status the kind maps to (404 for an unknown path); RPC edges map it to a code.
   */
  writeError(request: FastifyRequest, reply: FastifyReply, error: ProxyError, status?: number): FastifyReply;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** The edge serving this route (see src/edge/route-edge.ts). */
    edge?: RouteEdge;
  }
}

/**
 * Declares the edge of every route registered after this call in `app`'s scope (and its children): `edge` itself,
 * or what `edgeOfRoute` says for a route's URL (undefined: none). A route's own `config.edge` wins.
 */
export function declareEdge(
  app: FastifyInstance,
  edge: RouteEdge | ((url: string) => RouteEdge | undefined),
): void {
  app.addHook("onRoute", (route) => {
    if (route.config?.edge !== undefined) return;
    const declared = typeof edge === "function" ? edge(route.url) : edge;
    if (declared !== undefined) route.config = { ...route.config, edge: declared };
  });
}

/** The edge a matched route declared; undefined for routes outside any edge (health, metrics) and unknown paths. */
export function edgeOf(request: FastifyRequest): RouteEdge | undefined {
  return request.routeOptions.config.edge;
}

/** Finds the edge that answers a request: its route's, else a fallback chosen from the request itself. */
export type EdgeResolver = (request: FastifyRequest) => RouteEdge;

/** A resolver: the route's declared edge, else `fallback(request)` (unknown paths, routes outside any edge). */
export function edgeResolver(fallback: (request: FastifyRequest) => RouteEdge): EdgeResolver {
  return (request) => edgeOf(request) ?? fallback(request);
}
