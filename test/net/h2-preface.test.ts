import { describe, expect, it } from "vitest";
import { classifyPreface, HTTP2_PREFACE } from "../../src/net/h2-preface.ts";

describe("classifyPreface", () => {
  it("waits while the bytes are a strict prefix of the preface", () => {
    expect(classifyPreface(Buffer.alloc(0))).toBeUndefined();
    for (let length = 1; length < HTTP2_PREFACE.length; length++) {
      expect(classifyPreface(HTTP2_PREFACE.subarray(0, length))).toBeUndefined();
    }
  });

  it("says h2 once the 24 preface bytes are there, with or without frames after them", () => {
    expect(HTTP2_PREFACE.length).toBe(24);
    expect(classifyPreface(HTTP2_PREFACE)).toBe("h2");
    expect(classifyPreface(Buffer.concat([HTTP2_PREFACE, Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]))).toBe(
      "h2",
    );
  });

  it("says http1 at the first byte that differs", () => {
    expect(classifyPreface(Buffer.from("G"))).toBe("http1");
    expect(classifyPreface(Buffer.from("PO"))).toBe("http1");
    expect(classifyPreface(Buffer.from("PUT /x HTTP/1.1\r\n"))).toBe("http1");
    expect(classifyPreface(Buffer.from("PRI * HTTP/1.1\r\n\r\n"))).toBe("http1");
    expect(classifyPreface(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r!"))).toBe("http1");
  });
});
