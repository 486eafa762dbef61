import { describe, expect, it } from "vitest";
import { ProxyError } from "../../src/core/errors.ts";
import { createSseDecoder, parseSseStream, type SseEvent } from "../../src/providers/sse.ts";

const encoder = new TextEncoder();

async function* fromChunks(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

/** Parses `input` delivered as the given pieces (strings are UTF-8 encoded). */
async function parse(...pieces: readonly (string | Uint8Array)[]): Promise<SseEvent[]> {
  const chunks = pieces.map((piece) => (typeof piece === "string" ? encoder.encode(piece) : piece));
  const events: SseEvent[] = [];
  for await (const event of parseSseStream(fromChunks(chunks))) events.push(event);
  return events;
}

/** Just the data fields. */
async function parseData(...pieces: readonly (string | Uint8Array)[]): Promise<string[]> {
  return (await parse(...pieces)).map((event) => event.data);
}

describe("parseSseStream framing", () => {
  it("reads OpenAI-style data-only events", async () => {
    expect(await parseData('data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n')).toEqual([
      '{"a":1}',
      '{"b":2}',
      "[DONE]",
    ]);
  });

  it("accepts CRLF and lone CR line endings", async () => {
    expect(await parseData("data: one\r\n\r\ndata: two\r\rdata: three\n\n")).toEqual(["one", "two", "three"]);
  });

  it("handles a CRLF split between two reads", async () => {
    expect(await parseData("data: one\r", "\n\r", "\ndata: two\r\n\r\n")).toEqual(["one", "two"]);
  });

  it("ignores comments (DeepSeek `: keep-alive`) and leading blank lines", async () => {
    expect(await parseData("\n\n: keep-alive\n\n: keep-alive\n\ndata: x\n\n")).toEqual(["x"]);
  });

  it("joins multi-line data with newlines", async () => {
    expect(await parseData('data: {"a":\ndata: 1}\n\n')).toEqual(['{"a":\n1}']);
  });

  it("keeps event names and ids (Anthropic-style events)", async () => {
    const events = await parse(
      'event: message_start\nid: 7\ndata: {}\n\nevent: ping\ndata: {"type":"ping"}\n\n',
    );
    expect(events.map(({ event, id, data }) => ({ event, id, data }))).toEqual([
      { event: "message_start", id: "7", data: "{}" },
      { event: "ping", id: undefined, data: '{"type":"ping"}' },
    ]);
  });

  it("strips exactly one space after the colon", async () => {
    expect(await parseData("data:no-space\n\ndata:  two-spaces\n\n")).toEqual(["no-space", " two-spaces"]);
  });

  // Regression: eventsource-parser's reset({consume: true}) parses the leftover line but never dispatches its
  // event, so the parser is fed a final blank line instead.
  it("still yields a last event that is not followed by a blank line", async () => {
    expect(await parseData("data: first\n\ndata: last")).toEqual(["first", "last"]);
    expect(await parseData("data: first\n\ndata: last\n")).toEqual(["first", "last"]);
  });

  it("yields nothing for an empty body", async () => {
    expect(await parseData()).toEqual([]);
  });

  it("yields each event as soon as its blank line arrives, before the body ends", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* slowBody(): AsyncGenerator<Uint8Array> {
      yield encoder.encode("data: early\n\n");
      await gate;
      yield encoder.encode("data: late\n\n");
    }
    const iterator = parseSseStream(slowBody());
    expect((await iterator.next()).value?.data).toBe("early");
    release();
    expect((await iterator.next()).value?.data).toBe("late");
    expect((await iterator.next()).done).toBe(true);
  });
});

describe("parseSseStream unicode", () => {
  const text = "你好，世界 🌏🚀 café 𝄞 👩‍💻";
  const body = encoder.encode(`data: {"content":"${text}"}\n\ndata: ${text}\n\n`);
  const want = [`{"content":"${text}"}`, text];

  it("decodes multi-byte characters split at every byte boundary", async () => {
    for (let split = 1; split < body.length; split += 1) {
      const got = await parseData(body.slice(0, split), body.slice(split));
      expect(got, `split at byte ${split}`).toEqual(want);
    }
  });

  it("decodes a body delivered one byte at a time", async () => {
    const bytes = Array.from(body, (byte) => Uint8Array.of(byte));
    const got = await parseData(...bytes);
    expect(got).toEqual(want);
    expect(got.join("").includes("\uFFFD")).toBe(false);
  });
});

describe("createSseDecoder event cap", () => {
  const CAP = 100;
  const bytes = (text: string) => encoder.encode(text);
  const tooLarge = "The upstream sent a stream event larger than proxy.max_sse_event_bytes (100 bytes).";

  /** Feeds `pieces` to a decoder capped at CAP; the data of every event, or the error that stopped it. */
  function feed(...pieces: readonly string[]): { data: string[]; error: unknown } {
    const decoder = createSseDecoder(CAP);
    const data: string[] = [];
    try {
      for (const piece of pieces) for (const event of decoder.push(bytes(piece))) data.push(event.data);
      for (const event of decoder.end()) data.push(event.data);
    } catch (error) {
      return { data, error };
    }
    return { data, error: undefined };
  }

  it("fails with bad_upstream_response before feeding the read that takes one event past the cap", () => {
    const { data, error } = feed("data: ok\n\n", `data: ${"x".repeat(60)}`, "x".repeat(60), "\n\n");
    expect(data).toEqual(["ok"]);
    expect(error).toBeInstanceOf(ProxyError);
    expect((error as ProxyError).kind).toBe("bad_upstream_response");
    expect((error as ProxyError).message).toBe(tooLarge);
  });

  it("counts an event across many data lines and reads, and one too large in a single read", () => {
    const lines = Array.from({ length: 12 }, () => "data: 0123456789\n");
    expect(feed(...lines, "\n").error).toBeInstanceOf(ProxyError);
    expect(feed(`data: ${"x".repeat(CAP)}\n\n`).error).toBeInstanceOf(ProxyError);
  });

  it("lets any number of events under the cap through, whatever their total and however they are split", () => {
    const whole = `data: ${"x".repeat(80)}\n\n`.repeat(50);
    const piecesOf = (size: number) =>
      Array.from({ length: Math.ceil(whole.length / size) }, (_, at) =>
        whole.slice(at * size, (at + 1) * size),
      );
    // One read of them all, reads that split events anywhere, one byte at a time.
    for (const pieces of [[whole], piecesOf(13), piecesOf(150), piecesOf(1)]) {
      const { data, error } = feed(...pieces);
      expect(error).toBeUndefined();
      expect(data).toHaveLength(50);
    }
  });

  it("ends an event at CRLF and CR blank lines too, also when the blank line is split between reads", () => {
    const event = `data: ${"x".repeat(80)}`;
    expect(feed(`${event}\r\n\r\n${event}\r\n\r\n`).error).toBeUndefined();
    expect(feed(`${event}\r\r${event}\r\r`).error).toBeUndefined();
    expect(feed(`${event}\n`, `\n${event}\n`, `\r\n${event}\n\n`).data).toHaveLength(3);
    // CR then LF across two reads is one line end, not a blank line: the event goes on.
    expect(feed(`${event}\r`, `\n${event}\r`, "\n\r\n").error).toBeInstanceOf(ProxyError);
  });

  it("has no cap unless given one", () => {
    const decoder = createSseDecoder();
    expect(decoder.push(bytes(`data: ${"x".repeat(1_000_000)}\n\n`))[0]?.data).toHaveLength(1_000_000);
  });
});
