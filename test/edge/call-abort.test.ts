import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { ProxyError } from "../../src/core/errors.ts";
import { CallAborts } from "../../src/edge/call-abort.ts";

/** A response that only emits 'close', as the watcher sees one. */
function response(): EventEmitter & { close(): void } {
  const emitter = new EventEmitter() as EventEmitter & { close(): void };
  emitter.close = () => emitter.emit("close");
  return emitter;
}

describe("CallAborts", () => {
  it("aborts a call whose response closes before it ended, with a cancelled ProxyError", () => {
    const aborts = new CallAborts(undefined);
    const raw = response();
    const call = aborts.watch(raw);
    raw.close();
    expect(call.signal.aborted).toBe(true);
    expect(call.cause).toBe("client");
    expect(call.clientGone).toBe(true);
    expect(ProxyError.from(call.signal.reason).kind).toBe("cancelled");
  });

  it("does not abort a call that ended before its response closed", () => {
    const aborts = new CallAborts(undefined);
    const raw = response();
    const call = aborts.watch(raw);
    call.end();
    raw.close();
    expect(call.signal.aborted).toBe(false);
    expect(call.clientGone).toBe(false);
  });

  it("aborts calls in flight on shutdown with its reason, not calls already ended, and new calls at once", () => {
    const shutdown = new AbortController();
    const aborts = new CallAborts(shutdown.signal);
    const running = aborts.watch(response());
    const ended = aborts.watch(response());
    ended.end();
    const reason = new ProxyError("overloaded", "The gateway is shutting down.");
    shutdown.abort(reason);
    expect(running.signal.reason).toBe(reason);
    expect(running.cause).toBe("shutdown");
    expect(running.failure(new Error("stream cut"))).toBe(reason);
    expect(ended.signal.aborted).toBe(false);
    const late = aborts.watch(response());
    expect(late.signal.reason).toBe(reason);
  });

  it("aborts at its deadline and reports a timeout whatever the failure was", async () => {
    const aborts = new CallAborts(undefined);
    const call = aborts.watch(response(), 5);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(call.cause).toBe("deadline");
    expect(call.failure(new ProxyError("cancelled", "aborted")).kind).toBe("timeout");
  });

  it("clears the deadline when the call ends", async () => {
    const aborts = new CallAborts(undefined);
    const call = aborts.watch(response(), 5);
    call.end();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(call.signal.aborted).toBe(false);
    expect(call.failure(new Error("boom")).kind).toBe("internal");
  });
});
