import { describe, expect, it } from "vitest";
import { ProxyError } from "../../src/core/errors.ts";
import { type BodyController, UpstreamBody } from "../../src/providers/upstream-body.ts";

/** Records what the body asks of undici's controller. */
function fakeController() {
  const calls: string[] = [];
  const controller: BodyController = {
    abort: (reason) => calls.push(`abort: ${reason.message}`),
    pause: () => calls.push("pause"),
    resume: () => calls.push("resume"),
  };
  return { controller, calls };
}

describe("UpstreamBody", () => {
  it("gives everything that arrived since the last read as one buffer, then the end", async () => {
    const { controller, calls } = fakeController();
    const body = new UpstreamBody(controller);
    const first = body.next();
    body.push(Buffer.from("ab"));
    body.push(Buffer.from("c"));
    expect(Buffer.from((await first).value ?? []).toString()).toBe("abc");
    body.push(Buffer.from("d"));
    body.end();
    expect(Buffer.from((await body.next()).value ?? []).toString()).toBe("d");
    expect((await body.next()).done).toBe(true);
    expect(calls).toEqual([]);
  });

  it("text() answers once with the whole body, multi-byte characters split across reads included", async () => {
    const { controller } = fakeController();
    const body = new UpstreamBody(controller);
    const euro = Buffer.from("€");
    const text = body.text();
    body.push(Buffer.concat([Buffer.from("price: "), euro.subarray(0, 1)]));
    body.push(euro.subarray(1));
    body.end();
    expect(await text).toBe("price: €");
  });

  it("text() resumes a read that the high-water mark paused before it was called", async () => {
    const { controller, calls } = fakeController();
    const body = new UpstreamBody(controller);
    body.push(Buffer.alloc(300 * 1024, 0x61));
    expect(calls).toEqual(["pause"]);
    const text = body.text();
    expect(calls).toEqual(["pause", "resume"]);
    // No further pause while the whole body is wanted.
    body.push(Buffer.alloc(300 * 1024, 0x62));
    body.end();
    expect((await text).length).toBe(600 * 1024);
    expect(calls).toEqual(["pause", "resume"]);
  });

  it("text() rejects with the failure, and a second reader is refused while it waits", async () => {
    const { controller } = fakeController();
    const body = new UpstreamBody(controller);
    const text = body.text();
    await expect(body.next()).rejects.toThrow("concurrent reads");
    await expect(body.text()).rejects.toThrow("concurrent reads");
    body.fail(new Error("connection reset"));
    await expect(text).rejects.toThrow("connection reset");
  });

  it("a reader that stalls makes it stop reading the socket after 64 KB of events", () => {
    const { controller, calls } = fakeController();
    const body = new UpstreamBody(controller);
    // LLM events are small; undici hands each over as its own chunk.
    let queued = 0;
    while (calls.length === 0 && queued < 1024 * 1024) {
      body.push(Buffer.alloc(200, 0x61));
      queued += 200;
    }
    expect(calls).toEqual(["pause"]);
    expect(queued).toBeLessThanOrEqual(64 * 1024 + 200);
  });

  it("text() over its cap fails with bad_upstream_response at once, aborts the request and drops the bytes", async () => {
    const { controller, calls } = fakeController();
    const body = new UpstreamBody(controller, 1000);
    const text = body.text();
    body.push(Buffer.alloc(600));
    expect(calls).toEqual([]);
    body.push(Buffer.alloc(600));
    const error = await text.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProxyError);
    expect((error as ProxyError).kind).toBe("bad_upstream_response");
    expect((error as ProxyError).message).toBe(
      "The upstream's answer is larger than proxy.max_response_bytes (1000 bytes).",
    );
    expect(calls).toEqual([
      "abort: The upstream's answer is larger than proxy.max_response_bytes (1000 bytes).",
    ]);
    // What undici reports for our own abort, and anything still in flight, changes nothing.
    body.push(Buffer.alloc(600));
    body.fail(new Error("aborted"));
    expect(body.settled).toBe(true);
  });

  it("text() called after more than its cap arrived fails the same way", async () => {
    const { controller, calls } = fakeController();
    const body = new UpstreamBody(controller, 100 * 1024);
    body.push(Buffer.alloc(150 * 1024));
    await expect(body.text()).rejects.toThrow("proxy.max_response_bytes (102400 bytes)");
    expect(calls.at(-1)).toMatch(/^abort: /);
  });

  it("the cap does not apply to a body read as a stream", async () => {
    const { controller } = fakeController();
    const body = new UpstreamBody(controller, 10);
    const first = body.next();
    body.push(Buffer.alloc(100));
    expect((await first).value?.length).toBe(100);
  });

  it("return() aborts an open response, and not one that already ended", async () => {
    const open = fakeController();
    await new UpstreamBody(open.controller).return();
    expect(open.calls).toEqual(["abort: upstream response body abandoned by its reader"]);

    const ended = fakeController();
    const body = new UpstreamBody(ended.controller);
    body.end();
    await body.return();
    expect(ended.calls).toEqual([]);
  });
});
