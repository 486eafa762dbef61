/**
 * Closes the connection the primary was handing to a worker when that worker died.
 *
 * With the cluster module's round-robin scheduling (Node's default everywhere but Windows) the primary accepts
 * every connection and sends its handle to a worker over IPC (`{cmd: "NODE_CLUSTER", act: "newconn", seq}`); it
 * closes its own copy only when the worker's answer (`{ack: seq, accepted}`) arrives. A worker killed while a
 * handle is in flight (kill -9, the OOM killer) never answers and Node keeps the handle open for the life of the
 * primary: nobody reads the connection, and the client waits for its own timeout. A connection already accepted
 * by the dying worker is closed by the kernel, so the client fails fast; this makes the in-flight one fail as fast.
 *
 * The handle is closed, never handed to another worker: the dead one may have read part of the request already.
 * This watches Node's internal cluster messages; if their shape ever changes it recognises nothing and changes
 * nothing (test/e2e/workers.test.ts would then show the hang again).
 * @see https://nodejs.org/api/cluster.html#how-it-works
 */
import type { Worker } from "node:cluster";

interface Closable {
  close(): void;
}

/** Round-robin sends at most one connection per listening socket (`key`) to a worker until it answers. */
type InFlight = Map<string, { readonly seq: number; readonly handle: Closable }>;

/** Watches `worker`'s connection hand-offs and closes the unanswered ones when it exits. */
export function closeUndeliveredConnectionsOf(worker: Worker): void {
  const child = worker.process;
  const inFlight: InFlight = new Map();
  const send: unknown = Reflect.get(child, "send");
  if (typeof send !== "function") return;
  // The cluster module sends hand-offs through this method of the worker's ChildProcess.
  Reflect.set(child, "send", (...args: unknown[]): unknown => {
    const handoff = asHandoff(args[0], args[1]);
    if (handoff !== undefined) inFlight.set(handoff.key, { seq: handoff.seq, handle: handoff.handle });
    return Reflect.apply(send, child, args);
  });
  child.on("internalMessage", (message: unknown) => {
    const ack = field(message, "ack");
    if (field(message, "cmd") !== "NODE_CLUSTER" || typeof ack !== "number") return;
    for (const [key, entry] of inFlight) if (entry.seq === ack) inFlight.delete(key);
  });
  child.once("exit", () => {
    for (const entry of inFlight.values()) entry.handle.close();
    inFlight.clear();
  });
}

function asHandoff(
  message: unknown,
  handle: unknown,
): { readonly key: string; readonly seq: number; readonly handle: Closable } | undefined {
  if (field(message, "cmd") !== "NODE_CLUSTER" || field(message, "act") !== "newconn") return undefined;
  const key = field(message, "key");
  const seq = field(message, "seq");
  if (typeof key !== "string" || typeof seq !== "number" || !isClosable(handle)) return undefined;
  return { key, seq, handle };
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? Reflect.get(value, name) : undefined;
}

function isClosable(value: unknown): value is Closable {
  return typeof field(value, "close") === "function";
}
