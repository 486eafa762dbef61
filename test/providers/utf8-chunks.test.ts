import { describe, expect, it } from "vitest";
import { createUtf8Chunks } from "../../src/providers/utf8-chunks.ts";

/** Decodes `bytes` split at `cuts` with createUtf8Chunks, and with a streaming TextDecoder for comparison. */
function both(bytes: Uint8Array, cuts: readonly number[]): { ours: string; reference: string } {
  const ours = createUtf8Chunks();
  const reference = new TextDecoder("utf-8");
  let a = "";
  let b = "";
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    const piece = bytes.subarray(from, cut);
    a += ours.decode(piece);
    b += reference.decode(piece, { stream: true });
    from = cut;
  }
  return { ours: a + ours.end(), reference: b + reference.decode() };
}

describe("createUtf8Chunks", () => {
  const text = 'data: {"content":"héllo 你好 👋🏽 ok"}\n\n';
  const bytes = new TextEncoder().encode(text);

  it("decodes text split at every byte position like a streaming TextDecoder", () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { ours, reference } = both(bytes, [cut]);
      expect(ours).toBe(text);
      expect(ours).toBe(reference);
    }
  });

  it("decodes text fed one byte at a time", () => {
    const cuts = Array.from({ length: bytes.length }, (_, i) => i);
    expect(both(bytes, cuts).ours).toBe(text);
  });

  it("turns malformed and truncated bytes into U+FFFD as TextDecoder does", () => {
    const cases = [
      Uint8Array.of(0x61, 0xff, 0x62),
      Uint8Array.of(0x61, 0xc3),
      Uint8Array.of(0xe4, 0xbd),
      Uint8Array.of(0xf0, 0x9f, 0x91),
      Uint8Array.of(0x80, 0x80, 0x61),
      Uint8Array.of(0xe4, 0x61, 0xbd, 0xa0),
    ];
    for (const malformed of cases) {
      for (let cut = 0; cut <= malformed.length; cut++) {
        const { ours, reference } = both(malformed, [cut]);
        expect(ours, `${malformed.join(",")} cut at ${cut}`).toBe(reference);
      }
    }
  });

  it("returns nothing for an empty read and holds an incomplete character until the next one", () => {
    const chunks = createUtf8Chunks();
    expect(chunks.decode(new Uint8Array(0))).toBe("");
    expect(chunks.decode(Uint8Array.of(0xe4, 0xbd))).toBe("");
    expect(chunks.decode(Uint8Array.of(0xa0, 0x41))).toBe("你A");
    expect(chunks.end()).toBe("");
  });
});
