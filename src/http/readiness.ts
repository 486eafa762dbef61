/**
 * Readiness: whether this process should receive new traffic. It is ready once buildServer has a runtime (a
 * loaded config with its router and adapters) and stops being ready when shutdown starts draining, so load
 * balancers and Kubernetes take it out of rotation while in-flight streams finish. Liveness (`GET /health`)
 * stays a plain "the process answers". Both HTTP (`GET /ready`) and gRPC (grpc.health.v1) read this one state.
 */
import type { FastifyInstance } from "fastify";
import type { StoreHealth } from "../governance/store-health.ts";

/** The serving state. */
export type ReadinessStatus = "serving" | "draining";

/** The shared readiness state and its change notifications. */
export interface Readiness {
  readonly status: ReadinessStatus;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: (status: ReadinessStatus) => void): () => void;
  /** Marks the process as shutting down (idempotent). */
  drain(): void;
}

/** Creates the state, serving. */
export function createReadiness(): Readiness {
  let status: ReadinessStatus = "serving";
  const listeners = new Set<(status: ReadinessStatus) => void>();
  return {
    get status() {
      return status;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    drain() {
      if (status === "draining") return;
      status = "draining";
      for (const listener of [...listeners]) listener(status);
    },
  };
}

/** Body of `GET /ready`. */
export interface ReadinessBody {
  readonly status: "ready" | "draining" | "store_unavailable";
  /** Each shared store's state, when the gateway uses one (`store.redis_url`). */
  readonly stores?: Readonly<Record<string, "up" | "down">>;
  /** A store is down and `fail_mode: open` keeps serving with limits counted by this replica alone. */
  readonly degraded?: boolean;
}

/**
 * `GET /ready`: 200 while serving, 503 while draining. Fastify itself answers 503 to new requests once close()
 * has started; this route also covers requests that arrive on connections accepted just before. With shared
 * stores, a store that is down makes it 503 in `fail_mode: closed` (the replica refuses limited keys' calls
 * anyway) and leaves it 200 but `degraded` in `open`.
 */
export function registerReadinessRoute(
  app: FastifyInstance,
  readiness: Readiness,
  stores: readonly StoreHealth[] = [],
): void {
  app.get("/ready", async (_request, reply) => {
    const ready = readiness.status === "serving";
    if (!ready || stores.length === 0) {
      const body: ReadinessBody = { status: ready ? "ready" : "draining" };
      return reply.status(ready ? 200 : 503).send(body);
    }
    const states: Record<string, "up" | "down"> = {};
    let degraded = false;
    let unavailable = false;
    for (const store of stores) {
      const up = store.up();
      states[store.store] = up ? "up" : "down";
      if (up) continue;
      if (store.failMode() === "closed") unavailable = true;
      else degraded = true;
    }
    const body: ReadinessBody = {
      status: unavailable ? "store_unavailable" : "ready",
      stores: states,
      ...(degraded ? { degraded } : {}),
    };
    return reply.status(unavailable ? 503 : 200).send(body);
  });
}
