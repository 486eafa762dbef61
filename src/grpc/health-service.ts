/**
 * grpc.health.v1.Health over the gateway's readiness: SERVING while it takes traffic, NOT_SERVING once shutdown
 * drains. The overall server ("") and each named gRPC service report the same state. Watch sends the current
 * state, then each change, and ends after NOT_SERVING on shutdown so it never holds `app.close()` up.
 * @see https://github.com/grpc/grpc/blob/master/doc/health-checking.md
 */
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.ts";
import type { Readiness, ReadinessStatus } from "../http/readiness.ts";

const toServingStatus = (status: ReadinessStatus): ServingStatus =>
  status === "serving" ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;

/** The health service; `serviceNames` are the fully-qualified services a client may ask about besides "". */
export function createHealthService(
  readiness: Readiness,
  serviceNames: readonly string[],
): ServiceImpl<typeof Health> {
  const known = new Set(["", ...serviceNames]);
  return {
    check(request) {
      if (!known.has(request.service)) {
        throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      }
      return { status: toServingStatus(readiness.status) };
    },

    async *watch(request, context) {
      // Subscribe before the first answer, so a change while the client reads it is not lost.
      const changes = subscribeChanges(readiness, context.signal);
      try {
        const isKnown = known.has(request.service);
        let status = readiness.status;
        // An unknown service is reported, not refused: the spec keeps the call open for it.
        yield { status: isKnown ? toServingStatus(status) : ServingStatus.SERVICE_UNKNOWN };
        while (status !== "draining") {
          const next = await changes.next();
          if (next === undefined) return;
          status = next;
          if (isKnown) yield { status: toServingStatus(status) };
        }
      } finally {
        changes.close();
      }
    },

    list() {
      const status = toServingStatus(readiness.status);
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status }])) };
    },
  };
}

/** Readiness changes as a pull queue; `next()` resolves undefined once the call is cancelled. */
function subscribeChanges(
  readiness: Readiness,
  signal: AbortSignal,
): { next(): Promise<ReadinessStatus | undefined>; close(): void } {
  const pending: ReadinessStatus[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = readiness.subscribe((status) => {
    pending.push(status);
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener("abort", onAbort);
  return {
    async next() {
      while (pending.length === 0 && !signal.aborted) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      return signal.aborted ? undefined : pending.shift();
    },
    close() {
      unsubscribe();
      signal.removeEventListener("abort", onAbort);
    },
  };
}
