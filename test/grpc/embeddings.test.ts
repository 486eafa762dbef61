/**
 * llmproxy.v1.EmbeddingService/CreateEmbeddings through @grpc/grpc-js (proto loaded at run time, as README shows)
 * and `buf curl` (Connect, with the schema from reflection) against mock OpenAI-compatible and Gemini vendors and
 * echo: vectors as `repeated float` in input order, token inputs, a DashScope-preset batch of 25 split 10/10/5,
 * Gemini's outputDimensionality, INVALID_ARGUMENT for an Anthropic model and bad inputs, and a cancelled call
 * cancelling the vendor's request. Reflection lists the service.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bufCurl } from "../helpers/buf-curl.ts";
import { type EmbeddingsGateway, startEmbeddingsGateway } from "../helpers/embeddings-gateway.ts";
import { type MockEmbeddingsUpstream, mockVector } from "../helpers/mock-embeddings-upstream.ts";
import type { RunningServer } from "../helpers/start-server.ts";

interface EmbeddingsAnswer {
  readonly data?: readonly { readonly index?: number; readonly embedding?: readonly number[] }[];
  readonly model?: string;
  readonly usage?: { readonly prompt_tokens?: number; readonly total_tokens?: number };
}

type Callback = (error: grpc.ServiceError | null, response?: EmbeddingsAnswer) => void;

interface EmbeddingClient extends grpc.Client {
  CreateEmbeddings(request: object, callback: Callback): grpc.ClientUnaryCall;
}

let embeddings: EmbeddingsGateway;
let vendor: MockEmbeddingsUpstream;
let gemini: MockEmbeddingsUpstream;
let gateway: RunningServer;
let client: EmbeddingClient;

beforeAll(async () => {
  embeddings = await startEmbeddingsGateway();
  ({ vendor, gemini, server: gateway } = embeddings);
  const definition = protoLoader.loadSync("proto/llmproxy/v1/embeddings.proto", {
    keepCase: true,
    longs: String,
    defaults: false,
  });
  const proto = grpc.loadPackageDefinition(definition) as unknown as {
    llmproxy: {
      v1: {
        EmbeddingService: new (address: string, credentials: grpc.ChannelCredentials) => EmbeddingClient;
      };
    };
  };
  client = new proto.llmproxy.v1.EmbeddingService(
    `127.0.0.1:${gateway.port}`,
    grpc.credentials.createInsecure(),
  );
});
afterAll(async () => {
  client?.close();
  await embeddings?.close();
});

function embed(request: object): Promise<EmbeddingsAnswer> {
  return new Promise((resolve, reject) => {
    client.CreateEmbeddings(request, (error, response) =>
      error === null ? resolve(response ?? {}) : reject(error),
    );
  });
}

const vectors = (answer: EmbeddingsAnswer) => (answer.data ?? []).map((item) => item.embedding ?? []);

describe("EmbeddingService through grpc-js", () => {
  it("answers float32 vectors in input order from an OpenAI-compatible vendor", async () => {
    const answer = await embed({
      model: "text-embedding-3-small",
      input: ["alpha", "beta"],
      dimensions: 3,
      user: "u-1",
    });
    expect(vectors(answer)).toEqual([
      mockVector("alpha", 3).map(Math.fround),
      mockVector("beta", 3).map(Math.fround),
    ]);
    expect((answer.data ?? []).map((item) => item.index ?? 0)).toEqual([0, 1]);
    expect(answer).toMatchObject({
      model: "text-embedding-3-small",
      usage: { prompt_tokens: 4, total_tokens: 4 },
    });
    expect(vendor.requests.at(-1)?.body).toMatchObject({
      dimensions: 3,
      user: "u-1",
      input: ["alpha", "beta"],
    });
  });

  it("embeds token lists", async () => {
    const answer = await embed({
      model: "text-embedding-3-small",
      token_input: [{ tokens: [1, 2] }, { tokens: [3] }],
    });
    expect(vectors(answer)).toEqual([mockVector([1, 2]).map(Math.fround), mockVector([3]).map(Math.fround)]);
  });

  it("splits 25 inputs into batches of 10 for the DashScope preset and keeps their order", async () => {
    const start = vendor.requests.length;
    const inputs = Array.from({ length: 25 }, (_unused, index) => `passage ${index}`);
    const answer = await embed({ model: "qwen-embed", input: inputs });
    expect(vendor.requests.slice(start).map((request) => (request.body.input as string[]).length)).toEqual([
      10, 10, 5,
    ]);
    expect((answer.data ?? []).map((item) => item.index ?? 0)).toEqual(inputs.map((_input, index) => index));
    expect(vectors(answer)).toEqual(inputs.map((input) => mockVector(input).map(Math.fround)));
  });

  it("embeds on Gemini with outputDimensionality and on echo", async () => {
    const fromGemini = await embed({ model: "gemini-embed", input: ["one", "two"], dimensions: 5 });
    expect(vectors(fromGemini)).toEqual([
      mockVector("one", 5).map(Math.fround),
      mockVector("two", 5).map(Math.fround),
    ]);
    const sent = (gemini.requests.at(-1)?.body.requests ?? []) as object[];
    expect(sent[0]).toMatchObject({ outputDimensionality: 5 });
    const fromEcho = await embed({ model: "echo-embed", input: ["same", "same"] });
    expect(vectors(fromEcho)[0]).toHaveLength(16);
    expect(vectors(fromEcho)[1]).toEqual(vectors(fromEcho)[0]);
  });

  it.each([
    {
      name: "an Anthropic model",
      request: { model: "claude-sonnet", input: ["x"] },
      message: /does not support embeddings/,
    },
    { name: "no input", request: { model: "echo-embed" }, message: /at least one/ },
    {
      name: "dimensions 0",
      request: { model: "echo-embed", input: ["x"], dimensions: 0 },
      message: /positive integer/,
    },
    {
      name: "texts and tokens at once",
      request: { model: "echo-embed", input: ["x"], token_input: [{ tokens: [1] }] },
      message: /not both/,
    },
  ])("answers INVALID_ARGUMENT for $name", async ({ request, message }) => {
    const error = (await embed(request).catch((caught: unknown) => caught)) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toMatch(message);
  });

  it("cancels the vendor's request when the client cancels the call", async () => {
    const before = vendor.aborted();
    const start = vendor.requests.length;
    const call = client.CreateEmbeddings({ model: "hang-embed", input: ["x"] }, () => {});
    const deadline = Date.now() + 5_000;
    while (vendor.requests.length === start && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    call.cancel();
    while (vendor.aborted() === before && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(vendor.aborted()).toBe(before + 1);
  });
});

describe("EmbeddingService through buf curl", () => {
  it("is listed by reflection and answers a call built from the reflected schema", async () => {
    const listed = await bufCurl(["--list-methods", gateway.url]);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).toContain("llmproxy.v1.EmbeddingService/CreateEmbeddings");
    const outcome = await bufCurl([
      "--data",
      JSON.stringify({ model: "text-embedding-3-small", input: ["alpha"], dimensions: 2 }),
      `${gateway.url}/llmproxy.v1.EmbeddingService/CreateEmbeddings`,
    ]);
    expect(outcome.exitCode, outcome.stderr).toBe(0);
    const answer = JSON.parse(outcome.stdout) as {
      data: { embedding: number[] }[];
      usage: { promptTokens: number };
    };
    // buf prints a float32 in its shortest form: the same float32 once read back.
    expect(answer.data[0]?.embedding.map(Math.fround)).toEqual(mockVector("alpha", 2).map(Math.fround));
    expect(answer.usage.promptTokens).toBe(2);
  });
});
