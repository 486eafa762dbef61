import { describe, expect, it } from "vitest";
import type { ChatChunk } from "../../src/core/types.ts";
import type { SseEvent } from "../../src/providers/sse.ts";
import { SseChunkBatches, type SseEventReader } from "../../src/providers/sse-batches.ts";

/** A body that yields `reads` (then fails with `failure`, if any) and counts how it was released. */
function fakeBody(reads: readonly string[], failure?: Error) {
  const encoder = new TextEncoder();
  let position = 0;
  const body = {
    reads: 0,
    returns: 0,
    next(): Promise<IteratorResult<Uint8Array>> {
      const text = reads[position++];
      if (text !== undefined) {
        body.reads++;
        return Promise.resolve({ done: false, value: encoder.encode(text) });
      }
      if (failure !== undefined) return Promise.reject(failure);
      return Promise.resolve({ done: true, value: undefined });
    },
    return(): Promise<IteratorResult<Uint8Array>> {
      body.returns++;
      return Promise.resolve({ done: true, value: undefined });
    },
  };
  return body;
}

/** `data: x` → a text delta "x"; `FAIL` throws; `[DONE]` ends; finish() throws when `cutOff`. */
class TextReader implements SseEventReader {
  done = false;
  readonly #cutOff: boolean;
  constructor(cutOff = false) {
    this.#cutOff = cutOff;
  }
  push(event: SseEvent, out: ChatChunk[]): void {
    if (this.done) return;
    if (event.data === "[DONE]") this.done = true;
    else if (event.data === "FAIL") throw new Error("bad event");
    else out.push({ type: "text-delta", choice: 0, text: event.data });
  }
  finish(): void {
    if (this.#cutOff) throw new Error("cut off");
  }
}

const texts = (batch: readonly ChatChunk[]) =>
  batch.map((chunk) => (chunk.type === "text-delta" ? chunk.text : "?"));

async function drain(batches: SseChunkBatches): Promise<string[][]> {
  const out: string[][] = [];
  for (let next = await batches.next(); next.done !== true; next = await batches.next())
    out.push(texts(next.value));
  return out;
}

const mapped = (error: unknown) => new Error(`mapped: ${(error as Error).message}`);

describe("SseChunkBatches", () => {
  it("gives one batch per read that completes events, across split events, without empty batches", async () => {
    const body = fakeBody(["data: a\n\ndata: b\n\nda", "ta: c", "\n\n", ": keep-alive\n\n", "data: d\n\n"]);
    const batches = new SseChunkBatches(body, new TextReader(), mapped);
    expect(await drain(batches)).toEqual([["a", "b"], ["c"], ["d"]]);
    expect(body.returns).toBe(0);
  });

  it("sends the chunks before a failing event, then the failure, and releases the body", async () => {
    const body = fakeBody(["data: a\n\ndata: FAIL\n\n", "data: never\n\n"]);
    const batches = new SseChunkBatches(body, new TextReader(), mapped);
    const first = await batches.next();
    expect(first.done === true ? [] : texts(first.value)).toEqual(["a"]);
    await expect(batches.next()).rejects.toThrow("bad event");
    expect(body.returns).toBe(1);
    expect(await batches.next()).toEqual({ done: true, value: undefined });
  });

  it("reads the body to its end after [DONE], without releasing it (the connection is reused)", async () => {
    const body = fakeBody(["data: a\n\ndata: [DONE]\n\n", "data: late\n\n", "\n"]);
    const batches = new SseChunkBatches(body, new TextReader(), mapped);
    expect(await drain(batches)).toEqual([["a"]]);
    expect(body.reads).toBe(3);
    expect(body.returns).toBe(0);
  });

  it("dispatches a last event without its blank line, then reports a cut-off answer after it", async () => {
    const body = fakeBody(["data: a\n\ndata: b"]);
    const batches = new SseChunkBatches(body, new TextReader(true), mapped);
    const out: string[][] = [];
    await expect(
      (async () => {
        for (let next = await batches.next(); next.done !== true; next = await batches.next())
          out.push(texts(next.value));
      })(),
    ).rejects.toThrow("cut off");
    expect(out).toEqual([["a"], ["b"]]);
    // The body had ended: nothing to release.
    expect(body.returns).toBe(0);
  });

  it("fails on an event over maxEventBytes without mapping it, after the chunks before it, and releases the body", async () => {
    const body = fakeBody(["data: a\n\ndata: b\n\ndata: ", "x".repeat(40), "x".repeat(40), "\n\n"]);
    const batches = new SseChunkBatches(body, new TextReader(), mapped, 64);
    const first = await batches.next();
    expect(first.done === true ? [] : texts(first.value)).toEqual(["a", "b"]);
    await expect(batches.next()).rejects.toThrow("larger than proxy.max_sse_event_bytes (64 bytes)");
    expect(body.reads).toBe(3);
    expect(body.returns).toBe(1);
  });

  it("maps a failing body read and releases the body", async () => {
    const body = fakeBody(["data: a\n\n"], new Error("socket closed"));
    const batches = new SseChunkBatches(body, new TextReader(), mapped);
    await batches.next();
    await expect(batches.next()).rejects.toThrow("mapped: socket closed");
    expect(body.returns).toBe(1);
  });

  it("releases the body once when the reader leaves early, and not at all after the end", async () => {
    const open = fakeBody(["data: a\n\n", "data: b\n\n"]);
    const early = new SseChunkBatches(open, new TextReader(), mapped);
    await early.next();
    await early.return();
    await early.return();
    expect(open.returns).toBe(1);
    expect(await early.next()).toEqual({ done: true, value: undefined });

    const ended = fakeBody(["data: a\n\n"]);
    const finished = new SseChunkBatches(ended, new TextReader(), mapped);
    await drain(finished);
    await finished.return();
    expect(ended.returns).toBe(0);
  });
});
