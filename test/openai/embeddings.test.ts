/**
 * POST /v1/embeddings through the official openai SDK against mock OpenAI-compatible and Gemini vendors on
 * loopback (test/helpers/mock-embeddings-upstream.ts) and the echo provider: the SDK's default (base64 of
 * little-endian float32) and an explicit float request give the same vectors to float32 precision; every input
 * form; `dimensions`, `user` and extra fields reach the vendor; a DashScope-preset provider splits 25 inputs into
 * batches of 10 and answers them whole and in order; Gemini gets batchEmbedContents with outputDimensionality;
 * a 5xx is retried then falls back; an Anthropic model, bad inputs and too many inputs get clear 400s in OpenAI's
 * envelope; a client that hangs up cancels the vendor's request.
 */
import OpenAI, { BadRequestError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddingsGateway, startEmbeddingsGateway } from "../helpers/embeddings-gateway.ts";
import { type MockEmbeddingsUpstream, mockVector } from "../helpers/mock-embeddings-upstream.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

let embeddings: EmbeddingsGateway;
let vendor: MockEmbeddingsUpstream;
let gemini: MockEmbeddingsUpstream;
let gateway: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  embeddings = await startEmbeddingsGateway();
  ({ vendor, gemini, server: gateway } = embeddings);
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client-key", maxRetries: 0 });
});
afterAll(async () => {
  await embeddings?.close();
});

function newRequests(upstream: MockEmbeddingsUpstream): () => MockEmbeddingsUpstream["requests"] {
  const start = upstream.requests.length;
  return () => upstream.requests.slice(start);
}

describe("POST /v1/embeddings", () => {
  it("answers the SDK's default base64 request and an explicit float request with the same vectors", async () => {
    const inputs = ["The food was delicious", "and the waiter was kind"];
    const seen = newRequests(vendor);
    const base64 = await client.embeddings.create({ model: "text-embedding-3-small", input: inputs });
    const float = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: inputs,
      encoding_format: "float",
    });
    // The vendor is always asked for floats; the gateway encodes base64 itself.
    expect(seen().map((request) => request.body.encoding_format)).toEqual(["float", "float"]);
    expect(float.data.map((item) => item.index)).toEqual([0, 1]);
    for (const [index, input] of inputs.entries()) {
      // Floats pass through as the vendor sent them; base64 carries them as float32.
      expect(float.data[index]?.embedding).toEqual(mockVector(input));
      expect(base64.data[index]?.embedding).toHaveLength(mockVector(input).length);
      expect(base64.data[index]?.embedding).toEqual(mockVector(input).map(Math.fround));
    }
    expect(float).toMatchObject({
      object: "list",
      model: "text-embedding-3-small",
      usage: { prompt_tokens: 4, total_tokens: 4 },
    });
  });

  it("encodes base64 as little-endian float32 on the wire, as older SDKs and other languages decode it", async () => {
    const response = await fetch(`${gateway.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "text-embedding-3-small", input: "hello", encoding_format: "base64" }),
    });
    const body = (await response.json()) as { data: { embedding: string }[] };
    const bytes = Buffer.from(body.data[0]?.embedding ?? "", "base64");
    const expected = mockVector("hello");
    expect(bytes.length).toBe(expected.length * 4);
    expected.forEach((value, index) => {
      expect(bytes.readFloatLE(index * 4)).toBe(Math.fround(value));
    });
  });

  it("takes a string, strings, a token list and token lists, and passes dimensions, user and extra fields", async () => {
    const seen = newRequests(vendor);
    const forms = [
      { input: "one", expected: [mockVector("one", 3)] },
      { input: ["one", "two"], expected: [mockVector("one", 3), mockVector("two", 3)] },
      { input: [1, 2, 3], expected: [mockVector([1, 2, 3], 3)] },
      { input: [[1, 2], [3]], expected: [mockVector([1, 2], 3), mockVector([3], 3)] },
    ];
    for (const form of forms) {
      // text_type: a vendor field the SDK does not model.
      const params = {
        model: "text-embedding-3-small",
        input: form.input,
        dimensions: 3,
        user: "user-42",
        encoding_format: "float",
        text_type: "query",
      } as OpenAI.EmbeddingCreateParams & { encoding_format: "float" };
      const answer = await client.embeddings.create(params);
      expect(answer.data.map((item) => item.embedding)).toEqual(form.expected);
    }
    const bodies = seen().map((request) => request.body);
    expect(bodies.map((body) => body.input)).toEqual([["one"], ["one", "two"], [[1, 2, 3]], [[1, 2], [3]]]);
    expect(bodies[0]).toMatchObject({
      model: "text-embedding-3-small",
      dimensions: 3,
      user: "user-42",
      text_type: "query",
    });
  });

  it("splits 25 inputs into batches of the DashScope preset's 10 and answers all 25 in order", async () => {
    const seen = newRequests(vendor);
    const inputs = Array.from({ length: 25 }, (_unused, index) => `passage ${index}`);
    const answer = await client.embeddings.create({ model: "qwen-embed", input: inputs });
    expect(seen().map((request) => (request.body.input as string[]).length)).toEqual([10, 10, 5]);
    expect(seen().flatMap((request) => request.body.input as string[])).toEqual(inputs);
    expect(answer.data.map((item) => item.index)).toEqual(inputs.map((_input, index) => index));
    expect(answer.data.map((item) => item.embedding)).toEqual(
      inputs.map((input) => mockVector(input).map(Math.fround)),
    );
    expect(answer.usage).toEqual({ prompt_tokens: 50, total_tokens: 50 });
  });

  it("embeds on Gemini with batchEmbedContents and outputDimensionality, 100 per call, in order", async () => {
    const seen = newRequests(gemini);
    const inputs = Array.from({ length: 150 }, (_unused, index) => `doc ${index}`);
    const answer = await client.embeddings.create({
      model: "gemini-embed",
      input: inputs,
      dimensions: 8,
      encoding_format: "float",
    });
    expect(seen().map((request) => request.url)).toEqual([
      "/v1beta/models/gemini-embedding-001:batchEmbedContents",
      "/v1beta/models/gemini-embedding-001:batchEmbedContents",
    ]);
    const first = seen()[0]?.body.requests as Record<string, unknown>[];
    expect(first).toHaveLength(100);
    expect(first[0]).toEqual({
      model: "models/gemini-embedding-001",
      content: { parts: [{ text: "doc 0" }] },
      outputDimensionality: 8,
    });
    expect(seen()[0]?.headers["x-goog-api-key"]).toBe("gem-test-key-0000");
    expect(answer.data.map((item) => item.embedding)).toEqual(inputs.map((input) => mockVector(input, 8)));
  });

  it("serves deterministic unit vectors from echo with no key", async () => {
    const first = await client.embeddings.create({ model: "echo-embed", input: ["same", "other", "same"] });
    const [a, b, c] = first.data.map((item) => item.embedding);
    expect(a).toHaveLength(16);
    expect(c).toEqual(a);
    expect(b).not.toEqual(a);
    expect(Math.hypot(...(a ?? []))).toBeCloseTo(1, 5);
    const short = await client.embeddings.create({ model: "echo-embed", input: "same", dimensions: 4 });
    expect(short.data[0]?.embedding).toHaveLength(4);
    expect(first.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
  });

  it("retries a 5xx, then falls back to the next model", async () => {
    const seen = newRequests(vendor);
    const answer = await client.embeddings.create({
      model: "flaky-embed",
      input: "x",
      encoding_format: "float",
    });
    expect(seen().map((request) => request.body.model)).toEqual([
      "status-500",
      "status-500",
      "text-embedding-3-small",
    ]);
    expect(answer.model).toBe("flaky-embed");
    expect(answer.data[0]?.embedding).toEqual(mockVector("x"));
  });

  it("answers 400 naming an Anthropic model and why", async () => {
    const error = await client.embeddings
      .create({ model: "claude-sonnet", input: "x" })
      .catch((caught) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toMatch(
      /'claude-sonnet' does not support embeddings.*anthropic/,
    );
    expect((error as BadRequestError).param).toBe("model");
  });

  it.each([
    { name: "an empty array", body: { input: [] }, message: /at least one/ },
    { name: "10,000 inputs", body: { input: Array(10_000).fill("a") }, message: /10000 items.*at most 2048/ },
    { name: "mixed types", body: { input: ["a", 1] }, message: /must be a string, an array of strings/ },
    { name: "no input", body: {}, message: /'input' is required/ },
    { name: "dimensions 0", body: { input: "a", dimensions: 0 }, message: /'dimensions' must be a positive/ },
    {
      name: "dimensions -3",
      body: { input: "a", dimensions: -3 },
      message: /'dimensions' must be a positive/,
    },
    { name: "a bad encoding", body: { input: "a", encoding_format: "int8" }, message: /encoding_format/ },
  ])("refuses $name with a 400 in OpenAI's envelope", async ({ body, message }) => {
    const seen = newRequests(vendor);
    const response = await fetch(`${gateway.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "text-embedding-3-small", ...body }),
    });
    expect(response.status).toBe(400);
    const envelope = (await response.json()) as { error: { message: string; type: string } };
    expect(envelope.error.type).toBe("invalid_request_error");
    expect(envelope.error.message).toMatch(message);
    expect(seen()).toHaveLength(0);
  });

  it("counts embeddings under api=embeddings in /metrics and on the access line", async () => {
    await client.embeddings.create({ model: "echo-embed", input: "counted" });
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(
      /llm_proxy_requests_total\{[^}]*api="embeddings"[^}]*model="echo-embed"[^}]*\} \d/,
    );
    expect(metrics).toMatch(/llm_proxy_input_tokens_total\{[^}]*model="echo-embed"[^}]*\} \d/);
    const line = gateway.logs.find((entry) => entry.api === "embeddings" && entry.model === "echo-embed");
    expect(line).toMatchObject({ provider: "echo", outcome: "ok" });
  });

  it("forwards the request id to the vendor and returns it; a key's model list applies", async () => {
    const seen = newRequests(vendor);
    const { response } = await client.embeddings
      .create({ model: "text-embedding-3-small", input: "x" }, { headers: { "x-request-id": "emb-trace-1" } })
      .withResponse();
    expect(response.headers.get("x-request-id")).toBe("emb-trace-1");
    expect(seen()[0]?.headers["x-request-id"]).toBe("emb-trace-1");
    const keyed = await startServer(`
model_config: {echo-embed: echo, echo-other: echo}
auth: {keys: [{name: team, key: team-key-0123456789, models: [echo-embed]}]}
`);
    try {
      const team = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: "team-key-0123456789", maxRetries: 0 });
      expect((await team.embeddings.create({ model: "echo-embed", input: "x" })).data).toHaveLength(1);
      const refused = await team.embeddings
        .create({ model: "echo-other", input: "x" })
        .catch((error) => error);
      expect(refused).toMatchObject({ status: 404, code: "model_not_found" });
      const anonymous = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: "wrong-key", maxRetries: 0 });
      expect(
        await anonymous.embeddings.create({ model: "echo-embed", input: "x" }).catch((error) => error),
      ).toMatchObject({
        status: 401,
      });
    } finally {
      await keyed.close();
    }
  });

  it("cancels the vendor's request when the client hangs up", async () => {
    const before = vendor.aborted();
    const seen = newRequests(vendor);
    const controller = new AbortController();
    const call = client.embeddings.create({ model: "hang-embed", input: "x" }, { signal: controller.signal });
    const deadline = Date.now() + 5_000;
    while (seen().length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    await expect(call).rejects.toThrow();
    while (vendor.aborted() === before && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(vendor.aborted()).toBe(before + 1);
  });
});
