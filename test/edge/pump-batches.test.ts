import { describe, expect, it } from "vitest";
import { singleBatch } from "../../src/core/batches.ts";
import type { ChatChunk } from "../../src/core/types.ts";
import { pumpBatches } from "../../src/edge/pump.ts";

type Batch = readonly ChatChunk[];
const text = (value: string): Batch => [{ type: "text-delta", choice: 0, text: value }];

function batchesOf(batches: readonly Batch[], failure?: Error): AsyncIterator<Batch> & { reads: number } {
  let position = 0;
  const iterator = {
    reads: 0,
    next(): Promise<IteratorResult<Batch>> {
      iterator.reads++;
      const value = batches[position++];
      if (value !== undefined) return Promise.resolve({ done: false, value });
      return failure === undefined
        ? Promise.resolve({ done: true, value: undefined })
        : Promise.reject(failure);
    },
  };
  return iterator;
}

describe("pumpBatches", () => {
  it("writes every batch in order and does not read ahead of a write that waits for drain", async () => {
    const written: string[] = [];
    const source = batchesOf([text("a"), text("b"), text("c")]);
    let release: (() => void) | undefined;
    const pumped = pumpBatches(source, (batch) => {
      written.push(batch.map((chunk) => (chunk.type === "text-delta" ? chunk.text : "?")).join(""));
      if (written.length !== 2) return undefined;
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(written).toEqual(["a", "b"]);
    expect(source.reads).toBe(2);
    release?.();
    await pumped;
    expect(written).toEqual(["a", "b", "c"]);
  });

  it("rejects with a failing read or a failing write", async () => {
    await expect(
      pumpBatches(batchesOf([text("a")], new Error("read failed")), () => undefined),
    ).rejects.toThrow("read failed");
    await expect(
      pumpBatches(singleBatch(text("a")), () => {
        throw new Error("write failed");
      }),
    ).rejects.toThrow("write failed");
    await expect(
      pumpBatches(singleBatch(text("a")), () => Promise.reject(new Error("drain failed"))),
    ).rejects.toThrow("drain failed");
  });
});
