import { describe, expect, it } from "vitest";
import { createDeadline, failureOf } from "../../src/core/deadline.ts";
import { ProxyError } from "../../src/core/errors.ts";
import { callDeadlineError, clientGoneError } from "../../src/edge/call-abort.ts";

describe("failureOf", () => {
  it("reports the caller's own deadline as a timeout that is not retried, whichever way the edge says it", () => {
    for (const reason of [callDeadlineError(), new DOMException("deadline", "TimeoutError")]) {
      const client = new AbortController();
      client.abort(reason);
      const failure = failureOf(new Error("aborted"), client.signal, createDeadline(client.signal).signal);
      expect(failure.kind).toBe("timeout");
      expect(failure.retryable).toBe(false);
    }
  });

  it("reports a client that left as a cancel, and the request's own budget with its reason", () => {
    const client = new AbortController();
    client.abort(clientGoneError());
    expect(failureOf(new Error("aborted"), client.signal, client.signal).kind).toBe("cancelled");
    const open = new AbortController();
    const deadline = createDeadline(open.signal);
    const budget = new ProxyError("timeout", "proxy.timeout ran out");
    deadline.abort(budget);
    expect(failureOf(new Error("aborted"), open.signal, deadline.signal)).toBe(budget);
    deadline.dispose();
  });
});
