/**
 * Readiness: whether this process should receive new traffic. It is ready once buildServer has a runtime (a
 * loaded config with its router and adapters) and stops being ready when shutdown starts draining, so load
 * balancers and Kubernetes take it out of rotation while in-flight streams finish. Liveness (`GET /health`)
 * stays a plain "the process answers". Both HTTP (`GET /ready`) and gRPC (grpc.health.v1) read this one state.
 */
import type { FastifyInstance } from "fastify";

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
  readonly status: "ready" | "draining";
}

/**
 * `GET /ready`: 200 while serving, 503 while draining. Fastify itself answers 503 to new requests once close()
 * has started; this route also covers requests that arrive on connections accepted just before.
 */
export function registerReadinessRoute(app: FastifyInstance, readiness: Readiness): void {
  app.get("/ready", async (_request, reply) => {
    const ready = readiness.status === "serving";
    const body: ReadinessBody = { status: ready ? "ready" : "draining" };
    return reply.status(ready ? 200 : 503).send(body);
  });
}
