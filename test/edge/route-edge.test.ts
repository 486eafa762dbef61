import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import type { ProxyError } from "../../src/core/errors.ts";
import { declareEdge, edgeOf, edgeResolver, type RouteEdge } from "../../src/edge/route-edge.ts";

function edge(api: string): RouteEdge {
  return {
    api,
    modelCall: false,
    rpc: false,
    writeError: (_request: FastifyRequest, reply: FastifyReply, error: ProxyError) =>
      reply.status(400).send({ api, message: error.message }),
  };
}

describe("declareEdge", () => {
  it("gives the routes of its scope the edge (a route's own wins), and none to routes outside it", async () => {
    const app = Fastify();
    const fallback = edge("fallback");
    const resolve = edgeResolver(() => fallback);
    app.get("/outside", async (request) => ({
      api: edgeOf(request)?.api ?? null,
      resolved: resolve(request).api,
    }));
    await app.register(async (scope) => {
      declareEdge(scope, edge("chat"));
      scope.get("/v1/chat", async (request) => ({ api: edgeOf(request)?.api }));
      scope.get("/v1/own", { config: { edge: edge("models") } }, async (request) => ({
        api: edgeOf(request)?.api,
      }));
    });
    await app.register(async (scope) => {
      declareEdge(scope, (url) => (url.endsWith("/Stream") ? edge("stream") : undefined));
      scope.get("/svc/Stream", async (request) => ({ api: edgeOf(request)?.api }));
      scope.get("/svc/Other", async (request) => ({ api: edgeOf(request)?.api ?? null }));
    });
    const api = async (url: string): Promise<unknown> => (await app.inject({ url })).json();
    expect(await api("/v1/chat")).toEqual({ api: "chat" });
    expect(await api("/v1/own")).toEqual({ api: "models" });
    expect(await api("/svc/Stream")).toEqual({ api: "stream" });
    expect(await api("/svc/Other")).toEqual({ api: null });
    expect(await api("/outside")).toEqual({ api: null, resolved: "fallback" });
    await app.close();
  });
});
