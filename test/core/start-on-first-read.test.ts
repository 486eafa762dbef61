/**
 * startOnFirstRead: `open` runs once, on the first read, and not at all after an early return(); its errors reach
 * next(); calls during `open` share it; return() during `open` closes what `open` opened.
 */
import { describe, expect, it } from "vitest";
import { startOnFirstRead } from "../../src/core/start-on-first-read.ts";

describe("startOnFirstRead", () => {
  it("opens on the first next(), yields what open returned, and never opens after an early return()", async () => {
    let opened = 0;
    const source = async function* () {
      yield 1;
      yield 2;
    };
    const stream = startOnFirstRead(async () => {
      opened += 1;
      return source();
    });
    expect(opened).toBe(0);
    const seen: number[] = [];
    for await (const value of stream) seen.push(value);
    expect(seen).toEqual([1, 2]);
    expect(opened).toBe(1);

    const neverRead = startOnFirstRead(async () => {
      opened += 1;
      return source();
    });
    await neverRead.return?.();
    expect(await neverRead.next()).toEqual({ done: true, value: undefined });
    expect(opened).toBe(1);
  });

  it("shares one open between calls that arrive while it runs, and return() during it closes what it opened", async () => {
    let opened = 0;
    let finalized = false;
    const inner = async function* () {
      try {
        yield "a";
        yield "b";
      } finally {
        finalized = true;
      }
    };
    const gate = Promise.withResolvers<void>();
    const stream = startOnFirstRead(async () => {
      opened += 1;
      await gate.promise;
      return inner();
    });
    const first = stream.next();
    const second = stream.next();
    gate.resolve();
    expect([await first, await second]).toEqual([
      { done: false, value: "a" },
      { done: false, value: "b" },
    ]);
    expect(opened).toBe(1);

    const slow = Promise.withResolvers<void>();
    const closing = startOnFirstRead(async () => {
      await slow.promise;
      return inner();
    });
    finalized = false;
    const read = closing.next();
    const returned = closing.return?.();
    slow.resolve();
    await read;
    await returned;
    expect(finalized).toBe(true);
    expect(await closing.next()).toEqual({ done: true, value: undefined });
  });

  it("rejects next() with open's error, and return() after opening closes the inner iterator", async () => {
    const failing = startOnFirstRead<number>(async () => {
      throw new Error("upstream refused");
    });
    await expect(failing.next()).rejects.toThrow("upstream refused");

    let finalized = false;
    const inner = async function* () {
      try {
        yield 1;
        yield 2;
      } finally {
        finalized = true;
      }
    };
    const stream = startOnFirstRead(async () => inner());
    expect(await stream.next()).toEqual({ done: false, value: 1 });
    await stream.return?.();
    expect(finalized).toBe(true);
  });
});
