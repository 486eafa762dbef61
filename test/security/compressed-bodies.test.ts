/**
 * `Content-Encoding` on the OpenAI routes, through real sockets: gzip, deflate and br bodies are decoded, their
 * decoded size held to server.body_limit (a small bomb answers 413 at once), undecodable bytes answer 400 and an
 * encoding the gateway does not know answers 415, each in OpenAI's envelope, and the next request is served.
 */
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer(`
model_config: {echo-1: echo}
server: {body_limit: 100000}
`);
});
afterAll(async () => {
  await server.close();
});

function chatBody(content: string): Buffer {
  return Buffer.from(JSON.stringify({ model: "echo-1", messages: [{ role: "user", content }] }));
}

/** What the tests read of an answer: the completion's text or OpenAI's error object. */
interface Answer {
  readonly status: number;
  readonly json: {
    readonly choices?: readonly { readonly message: { readonly content: string } }[];
    readonly error?: { readonly type: string; readonly code: string | null; readonly message: string };
  };
}

async function send(body: Buffer, encoding: string): Promise<Answer> {
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "content-encoding": encoding },
    body,
  });
  return { status: response.status, json: (await response.json()) as Answer["json"] };
}

describe("compressed request bodies", () => {
  it.each([
    ["gzip", gzipSync],
    ["GZip", gzipSync],
    ["deflate", deflateSync],
    ["br", brotliCompressSync],
  ] as const)("decodes %s", async (encoding, compress) => {
    const answer = await send(compress(chatBody(`packed with ${encoding}`)), encoding);
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json.choices?.[0]?.message.content).toBe(`packed with ${encoding}`);
  });

  it("holds the decoded body to server.body_limit: a 10 MB bomb in 10 KB answers 413 at once", async () => {
    const padding = " ".repeat(10 * 1024 * 1024);
    const bomb = gzipSync(Buffer.from(`{"model":"echo-1","messages":[]${padding}}`), { level: 9 });
    expect(bomb.length).toBeLessThan(100_000);
    const started = performance.now();
    const answer = await send(bomb, "gzip");
    expect(answer.status).toBe(413);
    expect(answer.json.error).toMatchObject({ type: "invalid_request_error", code: "request_too_large" });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("answers 400 when the bytes do not decode as the encoding says", async () => {
    const answer = await send(chatBody("not compressed at all"), "gzip");
    expect(answer.status).toBe(400);
    expect(answer.json.error?.type).toBe("invalid_request_error");
    expect(answer.json.error?.message).toMatch(/could not be decompressed.*gzip/);
  });

  it.each(["zstd", "compress", "gzip, br", "snappy"])(
    "answers 415 for Content-Encoding: %s",
    async (encoding) => {
      const answer = await send(chatBody("hello"), encoding);
      expect(answer.status).toBe(415);
      expect(answer.json.error).toMatchObject({
        type: "invalid_request_error",
        code: "unsupported_content_encoding",
      });
      expect(answer.json.error?.message).toMatch(/gzip, deflate or br/);
    },
  );

  it("serves the next plain request, and nothing above was logged as a warning or an error", async () => {
    const answer = await send(chatBody("plain again"), "identity");
    expect(answer.status).toBe(200);
    expect(answer.json.choices?.[0]?.message.content).toBe("plain again");
    expect(server.logs.filter((line) => Number(line.level) >= 40)).toEqual([]);
  });
});
