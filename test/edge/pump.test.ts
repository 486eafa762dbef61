import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import type { ChatStream } from "../../src/core/chat-stream.ts";
import { ProxyError } from "../../src/core/errors.ts";
import type { ChatChunk } from "../../src/core/types.ts";
import { endFailedStream, pumpStream, type StreamSink, writeOrWait } from "../../src/edge/pump.ts";
import { sseDataBatches, sseEvent } from "../../src/edge/sse.ts";

type Batch = readonly ChatChunk[];
const text = (value: string): ChatChunk => ({ type: "text-delta", choice: 0, text: value });

/** A sink that refuses writes (needs drain) while `full` is set, and records what it got. */
class FakeSink<Bytes> extends EventEmitter implements StreamSink<Bytes> {
  readonly written: Bytes[] = [];
  full = false;
  destroyed = false;
  get writableNeedDrain(): boolean {
    return this.full;
  }
  write(chunk: Bytes): boolean {
    this.written.push(chunk);
    return !this.full;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

/** A stream over fixed batches, recording whether it was released; `failure` is thrown after them. */
function streamOf(batches: readonly Batch[], failure?: Error): ChatStream & { released: boolean } {
  let position = 0;
  const stream = {
    id: "chatcmpl-1",
    created: 0,
    model: "m",
    choiceCount: 1,
    served: { provider: "p", upstreamModel: "m", attempts: 1 },
    released: false,
    chunks: undefined as unknown as AsyncIterableIterator<ChatChunk>,
    batches: {
      next: (): Promise<IteratorResult<Batch>> => {
        const value = batches[position++];
        if (value !== undefined) return Promise.resolve({ done: false, value });
        return failure === undefined
          ? Promise.resolve({ done: true, value: undefined })
          : Promise.reject(failure);
      },
      return: (): Promise<IteratorResult<Batch>> => {
        stream.released = true;
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    },
  };
  return stream;
}

const encodeText = sseDataBatches((chunk) =>
  chunk.type === "text-delta" ? JSON.stringify(chunk.text) : undefined,
);

describe("pumpStream", () => {
  it("writes the opening, then one write per batch (skipping batches that encode to nothing), and releases", async () => {
    const sink = new FakeSink<string>();
    const stream = streamOf([
      [text("a"), text("b")],
      [{ type: "usage", usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } }],
      [text("c")],
    ]);
    await pumpStream(sink, stream, encodeText, "open\n");
    expect(sink.written).toEqual(["open\n", 'data: "a"\n\ndata: "b"\n\n', 'data: "c"\n\n']);
    expect(stream.released).toBe(true);
  });

  it("waits for 'drain' before the next read when the sink is full", async () => {
    const sink = new FakeSink<Buffer>();
    sink.full = true;
    const stream = streamOf([[text("a")], [text("b")]]);
    const pumped = pumpStream(sink, stream, (batch) => Buffer.from(String(batch.length)));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sink.written).toHaveLength(1);
    sink.full = false;
    sink.emit("drain");
    await pumped;
    expect(sink.written).toHaveLength(2);
  });

  it("stops waiting when the stream's signal aborts, rejects with the stream's failure and still releases", async () => {
    const sink = new FakeSink<string>();
    sink.full = true;
    const budget = new AbortController();
    const failure = new ProxyError("timeout", "The request timed out.");
    const stream = Object.assign(streamOf([[text("a")]], failure), { signal: budget.signal });
    const pumped = pumpStream(sink, stream, encodeText);
    setTimeout(() => budget.abort(failure), 5);
    await expect(pumped).rejects.toBe(failure);
    expect(stream.released).toBe(true);
  });
});

describe("writeOrWait and endFailedStream", () => {
  it("resolves a refused write on 'close' and leaves no listener behind", async () => {
    const sink = new FakeSink<string>();
    sink.full = true;
    const waiting = writeOrWait(sink, "x");
    expect(waiting).toBeInstanceOf(Promise);
    sink.emit("close");
    await waiting;
    expect(sink.listenerCount("drain") + sink.listenerCount("close")).toBe(0);
  });

  it("destroys a sink whose client stopped reading instead of queueing the error behind what it does not read", () => {
    const stalled = new FakeSink<string>();
    stalled.full = true;
    let wrote = false;
    endFailedStream(stalled, () => {
      wrote = true;
    });
    expect(stalled.destroyed).toBe(true);
    expect(wrote).toBe(false);
    const reading = new FakeSink<string>();
    endFailedStream(reading, () => reading.write("error"));
    expect(reading.written).toEqual(["error"]);
    expect(reading.destroyed).toBe(false);
  });
});

describe("sseEvent", () => {
  it("frames data with and without an event line", () => {
    expect(sseEvent('{"a":1}')).toBe('data: {"a":1}\n\n');
    expect(sseEvent('{"a":1}', "response.created")).toBe('event: response.created\ndata: {"a":1}\n\n');
  });
});
