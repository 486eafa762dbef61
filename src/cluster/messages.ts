/**
 * The messages the primary and its workers exchange over the cluster IPC channel. Internal, but still
 * checked on arrival: a message that is not one of these is ignored.
 */

/** Primary → worker: reload the config file, or drain and exit. */
export type PrimaryMessage = { readonly type: "llm-proxy:reload" } | { readonly type: "llm-proxy:shutdown" };

/** Worker → primary: this worker reloaded successfully through POST /config/reload; tell the others. */
export type WorkerMessage = { readonly type: "llm-proxy:reloaded" };

const PRIMARY_TYPES: ReadonlySet<string> = new Set(["llm-proxy:reload", "llm-proxy:shutdown"]);

function typeOf(message: unknown): string | undefined {
  if (typeof message !== "object" || message === null || !("type" in message)) return undefined;
  return typeof message.type === "string" ? message.type : undefined;
}

/** Narrows an IPC message from the primary. */
export function asPrimaryMessage(message: unknown): PrimaryMessage | undefined {
  const type = typeOf(message);
  return type !== undefined && PRIMARY_TYPES.has(type) ? (message as PrimaryMessage) : undefined;
}

/** Narrows an IPC message from a worker. */
export function asWorkerMessage(message: unknown): WorkerMessage | undefined {
  return typeOf(message) === "llm-proxy:reloaded" ? (message as WorkerMessage) : undefined;
}
