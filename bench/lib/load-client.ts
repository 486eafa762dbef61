/** The orchestrator's side of the load generator process: one run at a time over IPC, each bounded in time. */
import type { ChildHandle } from "./children.ts";
import type { LoadCommand, LoadReply, RunResult, RunSpec } from "./protocol.ts";

/** Runs specs in the forked load generator. */
export interface LoadClient {
  run(spec: RunSpec): Promise<RunResult>;
}

function isReply(value: unknown): value is LoadReply {
  return (
    typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string"
  );
}

/** Waits for the generator's "ready" message, then serves runs. */
export function connectLoad(handle: ChildHandle, readyTimeoutMs: number): Promise<LoadClient> {
  const child = handle.process;
  const pending = new Map<number, { resolve: (result: RunResult) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  child.on("message", (message: unknown) => {
    if (!isReply(message) || message.type === "ready") return;
    const waiter = pending.get(message.id);
    if (waiter === undefined) return;
    pending.delete(message.id);
    if (message.type === "result") waiter.resolve(message.result);
    else waiter.reject(new Error(`load generator: ${message.message}`));
  });
  child.once("exit", (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`load generator exited (code ${code})`));
    pending.clear();
  });
  const client: LoadClient = {
    run(spec) {
      const id = nextId++;
      const command: LoadCommand = { type: "run", id, spec };
      return new Promise((resolve, reject) => {
        // The generator bounds itself; this is the backstop if it hangs.
        const limit = (spec.durationMs ?? 0) + spec.timeoutMs + 10_000;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`load generator did not answer within ${limit} ms`));
        }, limit);
        const done =
          <T>(settle: (value: T) => void) =>
          (value: T) => {
            clearTimeout(timer);
            settle(value);
          };
        pending.set(id, { resolve: done(resolve), reject: done(reject) });
        child.send(command);
      });
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`load generator not ready after ${readyTimeoutMs} ms`)),
      readyTimeoutMs,
    );
    const onMessage = (message: unknown): void => {
      if (!isReply(message) || message.type !== "ready") return;
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(client);
    };
    child.on("message", onMessage);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`load generator exited before ready (code ${code}): ${handle.stderrTail()}`));
    });
  });
}
