/**
 * A long answer must not keep its prompt alive. Eight streaming calls with a distinct 1 MB prompt each are held
 * open (the vendor sends one chunk and then waits) while the heap and ArrayBuffers of the test process (the
 * gateway runs in it) are measured after a full collection: the parsed body and decoded request, the adapter's
 * upstream body and undici's copy of it were kept until the last chunk before (17 MB retained for these eight
 * streams: two copies of each prompt); now about 1 MB is, the streams' own state.
 * The same holds over gRPC (the fast lane for h2c gRPC, whose suspended call kept the decoded message: 8.6 MB,
 * seen only in external memory) and over the Connect protocol (Connect's own handler, which kept the raw body and
 * the decoded message: 9 MB). The deferred start that makes it so is tested on its own
 * in test/core/start-on-first-read.test.ts.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { connect } from "node:http2";
import type { AddressInfo } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateChatCompletionRequestSchema } from "../../gen/llmproxy/v1/chat_pb.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

const PROMPT_BYTES = 1024 * 1024;
const STREAMS = 8;
const MB = 1024 * 1024;

/** An OpenAI-compatible vendor that reads and drops each body, sends one chunk, then holds the stream open. */
async function startHoldingVendor() {
  const held: ServerResponse[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on("end", () => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      const chunk = {
        id: "chatcmpl-1",
        object: "chat.completion.chunk",
        created: 1,
        model: "m",
        choices: [{ index: 0, delta: { role: "assistant", content: "hi" }, finish_reason: null }],
      };
      response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      held.push(response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    held,
    finishAll() {
      for (const response of held.splice(0)) response.end("data: [DONE]\n\n");
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function promptBody(index: number): Buffer {
  const content = `${index}:`.padEnd(PROMPT_BYTES, String.fromCharCode(97 + index));
  return Buffer.from(JSON.stringify({ model: "m1", stream: true, messages: [{ role: "user", content }] }));
}

/**
 * Sends a streaming call with a fresh 1 MB prompt; resolves with the open response once the first bytes arrived.
 * No closure here captures the body: the client must not be what keeps a copy.
 */
function openStream(url: string, index: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const call = httpRequest(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    call.on("error", reject);
    call.on("response", (response) => {
      response.once("data", () => resolve(response));
    });
    call.end(promptBody(index));
  });
}

/** The same over gRPC (h2c, the gateway's gRPC fast lane): one length-prefixed message, then the first frame. */
function grpcFrame(index: number): Buffer {
  const content = `${index}:`.padEnd(PROMPT_BYTES, String.fromCharCode(97 + index));
  const message = toBinary(
    CreateChatCompletionRequestSchema,
    create(CreateChatCompletionRequestSchema, { model: "m1", messages: [{ role: "user", content }] }),
  );
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

function openGrpcStream(session: ReturnType<typeof connect>, index: number): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const call = session.request({
      ":method": "POST",
      ":path": "/llmproxy.v1.ChatService/StreamChatCompletion",
      "content-type": "application/grpc",
      te: "trailers",
    });
    call.on("error", reject);
    call.once("data", () => resolve(() => call.resume()));
    call.end(grpcFrame(index));
  });
}

/**
 * The V8 heap plus external memory (which includes ArrayBuffers): protobuf decoding turns a prompt into an
 * external string whose bytes live outside the heap, so a decoded gRPC request kept alive shows only there.
 */
function retainedBytes(): number {
  collectGarbage();
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

let vendor: Awaited<ReturnType<typeof startHoldingVendor>>;
let gateway: RunningServer;

beforeAll(async () => {
  vendor = await startHoldingVendor();
  gateway = await startServer(
    [
      "model_config: {m1: vendor}",
      `providers: {vendor: {type: openai, base_url: "${vendor.baseUrl}", api_key: "sk-test"}}`,
      "server: {watch_config: false}",
    ].join("\n"),
  );
});
afterAll(async () => {
  vendor?.finishAll();
  await gateway?.close();
  await vendor?.close();
});

/** An open call whose first bytes have arrived; calling it lets the rest drain. */
type OpenCall = () => void;

/**
 * Bytes still retained (after full collections) while `STREAMS` calls opened by `open` are held mid-answer,
 * compared with before them. Two calls first warm up pools, compiled code and caches that would count as growth.
 */
async function growthWhileOpen(open: (index: number) => Promise<OpenCall>): Promise<number> {
  const warm = await Promise.all([open(0), open(1)]);
  vendor.finishAll();
  for (const drain of warm) drain();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const before = retainedBytes();
  const calls = await Promise.all(Array.from({ length: STREAMS }, (_, i) => open(i + 2)));
  expect(vendor.held).toHaveLength(STREAMS);
  const growth = retainedBytes() - before;
  vendor.finishAll();
  for (const drain of calls) drain();
  return growth;
}

const draining =
  (response: IncomingMessage): OpenCall =>
  () =>
    response.resume();

/** The same over the Connect protocol (HTTP/1.1, served by Connect's own handler rather than the fast lane). */
function openConnectStream(url: string, index: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const call = httpRequest(`${url}/llmproxy.v1.ChatService/StreamChatCompletion`, {
      method: "POST",
      headers: { "content-type": "application/connect+proto", "connect-protocol-version": "1" },
    });
    call.on("error", reject);
    call.on("response", (response) => {
      response.once("data", () => resolve(response));
    });
    call.end(grpcFrame(index));
  });
}

describe("prompt release", () => {
  // One copy of every prompt would be 8 MB; the streams' own state is a few KB each.
  it("keeps no copy of a streaming call's prompt once the answer has started (OpenAI API)", async () => {
    const growth = await growthWhileOpen(async (i) => draining(await openStream(gateway.url, i)));
    expect(growth / MB).toBeLessThan(4);
  });

  it("nor of a server-streaming RPC's over gRPC (h2c, the fast lane)", async () => {
    const session = connect(gateway.url);
    try {
      const growth = await growthWhileOpen((i) => openGrpcStream(session, i));
      expect(growth / MB).toBeLessThan(4);
    } finally {
      session.close();
    }
  });

  it("nor over the Connect protocol (Connect's own handler)", async () => {
    const growth = await growthWhileOpen(async (i) => draining(await openConnectStream(gateway.url, i)));
    expect(growth / MB).toBeLessThan(4);
  });
});
