/**
 * Network reads → text, keeping a multi-byte character that straddles two reads whole. It does what a streaming
 * `TextDecoder` does for UTF-8, without one: Node backs each streaming TextDecoder with a native ICU converter that
 * lives until the garbage collector finds it, one more native object per upstream stream; Buffer's UTF-8 decoding
 * needs none. Malformed bytes become U+FFFD, as with a non-fatal TextDecoder (the tests compare the two).
 */

/** Decodes one byte stream; not reusable across streams. */
export interface Utf8Chunks {
  /** The text these bytes complete (a trailing incomplete character waits for the next call). */
  decode(bytes: Uint8Array): string;
  /** The end of the stream: what is still held back (an incomplete character decodes to U+FFFD). */
  end(): string;
}

/** How many bytes at the end of `bytes` start a character that needs more bytes than are there (0–3). */
function incompleteTail(bytes: Uint8Array): number {
  const length = bytes.length;
  // Walk back over at most three continuation bytes (10xxxxxx) to the lead byte of the last character.
  for (let back = 1; back <= Math.min(4, length); back++) {
    const byte = bytes[length - back] as number;
    if ((byte & 0xc0) === 0x80) continue;
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? back : 0;
  }
  return 0;
}

function toText(bytes: Uint8Array, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString("utf8");
}

/** Creates a decoder for one stream. */
export function createUtf8Chunks(): Utf8Chunks {
  let held: Uint8Array | undefined;
  return {
    decode(input) {
      const bytes = held === undefined ? input : Buffer.concat([held, input]);
      held = undefined;
      const tail = incompleteTail(bytes);
      if (tail === 0) return toText(bytes, bytes.length);
      held = bytes.slice(bytes.length - tail);
      return toText(bytes, bytes.length - tail);
    },
    end() {
      const rest = held;
      held = undefined;
      return rest === undefined ? "" : toText(rest, rest.length);
    },
  };
}
