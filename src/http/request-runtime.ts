/**
 * Every request leases the runtime that is current when it arrives and keeps it until its response is over, so
 * a reload never changes the routes, keys or upstream pool under a request, and a retired runtime's connections
 * close only after its last request. The lease ends on the raw response's 'close', which fires for normal
 * replies, hijacked SSE streams and RPCs alike, and when the client goes away.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Runtime, RuntimeHolder, RuntimeLease } from "../core/runtime.ts";

/** Gives each request's runtime. */
export type RuntimeOf = (request: FastifyRequest) => Runtime;

/** Adds the leasing hook (register it before any hook that reads the runtime); returns the lookup. */
export function registerRuntimeLeases(app: FastifyInstance, holder: RuntimeHolder): RuntimeOf {
  const leases = new WeakMap<FastifyRequest, RuntimeLease>();
  app.addHook("onRequest", (request, reply, done) => {
    const lease = holder.acquire();
    leases.set(request, lease);
    reply.raw.on("close", lease.release);
    done();
  });
  // A request that did not pass the hook (none should) gets the current runtime without a lease.
  return (request) => leases.get(request)?.runtime ?? holder.current;
}
