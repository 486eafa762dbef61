/**
 * Per-key limits through real clients: the openai SDK (chat JSON and stream, Responses), @anthropic-ai/sdk on
 * /v1/messages and grpc-js, against the echo provider (its usage is the words of the prompt plus the words it
 * echoes). Each key of the config has its own limits, so the tests do not share counters.
 */
import Anthropic from "@anthropic-ai/sdk";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";
import { collectMessagesAndError, grpcChatClient } from "../helpers/grpc-js-client.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const CONFIG = `
model_config: {echo-1: echo, slow-1: slow, priced-1: echo}
providers: {slow: {type: echo, token_delay_ms: 100}}
prices: {priced-1: {input: 1, output: 1}}
proxy: {default_model: echo-1}
auth:
  keys:
    - {name: rpm-chat, key: sk-rpm-chat-0001, limits: {rpm: 2}}
    - {name: rpm-stream, key: sk-rpm-stream-001, limits: {rpm: 1, tpm: 100000}}
    - {name: rpm-responses, key: sk-rpm-resp-0001, limits: {rpm: 1}}
    - {name: rpm-messages, key: sk-rpm-msgs-0001, limits: {rpm: 1}}
    - {name: rpm-grpc, key: sk-rpm-grpc-0001, limits: {rpm: 1}}
    - {name: tpm-chat, key: sk-tpm-chat-0001, limits: {tpm: 20}}
    - {name: parallel, key: sk-parallel-0001, limits: {max_parallel: 2}}
    - {name: rpm-connect, key: sk-rpm-connect-01, limits: {rpm: 1}}
    - {name: budget-daily, key: sk-budget-daily-1, limits: {budget_usd: 0.00001, budget_period: daily}}
    - {name: budget-total, key: sk-budget-total-1, limits: {budget_usd: 0.00001, budget_period: total}}
    - {name: unlimited, key: sk-unlimited-001}
`;

/** Six words: the echo provider bills 6 prompt + 6 completion tokens. */
const SIX_WORDS = "one two three four five six";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer(CONFIG);
});

afterAll(async () => {
  await server.close();
});

function openai(apiKey: string): OpenAI {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
}

function chat(client: OpenAI, content = "hello there") {
  return client.chat.completions.create({ model: "echo-1", messages: [{ role: "user", content }] });
}

async function refusal(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as InstanceType<typeof OpenAI.APIError>;
}

describe("rpm", () => {
  it("admits rpm chat requests with OpenAI's headers, then answers 429 rate_limit_exceeded with retry-after", async () => {
    const client = openai("sk-rpm-chat-0001");
    const first = await chat(client).withResponse();
    expect(first.response.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(first.response.headers.get("x-ratelimit-remaining-requests")).toBe("1");
    expect(first.response.headers.get("x-ratelimit-reset-requests")).toMatch(/^(\d+(\.\d+)?s|\d+ms)$/);
    expect(first.response.headers.get("x-ratelimit-limit-tokens")).toBeNull();
    const second = await chat(client).withResponse();
    expect(second.response.headers.get("x-ratelimit-remaining-requests")).toBe("0");

    const error = await refusal(chat(client));
    expect(error.status).toBe(429);
    expect(error.error).toMatchObject({ code: "rate_limit_exceeded", type: "rate_limit_error", param: null });
    expect(error.message).toContain("requests per minute (rpm): 2");
    const retryAfter = Number(error.headers?.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(error.headers?.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(error.headers?.get("x-should-retry")).toBeNull();
  });

  it("limits streams the same way and puts the headers on the stream's head", async () => {
    const client = openai("sk-rpm-stream-001");
    const { data: stream, response } = await client.chat.completions
      .create({ model: "echo-1", stream: true, messages: [{ role: "user", content: "streamed words" }] })
      .withResponse();
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("streamed words");
    expect(response.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(response.headers.get("x-ratelimit-limit-tokens")).toBe("100000");
    expect(response.headers.get("x-ratelimit-remaining-tokens")).toBe("100000");

    const error = await refusal(
      client.chat.completions.create({
        model: "echo-1",
        stream: true,
        messages: [{ role: "user", content: "x" }],
      }),
    );
    expect(error.status).toBe(429);
    expect(error.code).toBe("rate_limit_exceeded");
    // The tokens of the first stream were charged when it ended.
    expect(error.headers?.get("x-ratelimit-remaining-tokens")).toBe("99996");
  });

  it("limits the Responses API", async () => {
    const client = openai("sk-rpm-resp-0001");
    const answer = await client.responses.create({ model: "echo-1", input: "hi responses" });
    expect(answer.output_text).toBe("hi responses");
    const error = await refusal(client.responses.create({ model: "echo-1", input: "again" }));
    expect(error.status).toBe(429);
    expect(error.error).toMatchObject({ code: "rate_limit_exceeded" });
  });

  it("answers /v1/messages in Anthropic's rate_limit_error envelope", async () => {
    const client = new Anthropic({ baseURL: server.url, apiKey: "sk-rpm-msgs-0001", maxRetries: 0 });
    const message = { model: "echo-1", max_tokens: 50, messages: [{ role: "user" as const, content: "hi" }] };
    const first = await client.messages.create(message).withResponse();
    expect(first.response.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    const error = await client.messages.create(message).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const rateLimit = error as InstanceType<typeof Anthropic.RateLimitError>;
    expect(rateLimit.error).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(Number(rateLimit.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("answers gRPC with RESOURCE_EXHAUSTED and the headers as metadata", async () => {
    const client = grpcChatClient(server.port);
    try {
      const metadata = new grpc.Metadata();
      metadata.set("authorization", "Bearer sk-rpm-grpc-0001");
      const call = (): Promise<{ error: grpc.ServiceError | null; headers: grpc.Metadata | undefined }> =>
        new Promise((resolve) => {
          let headers: grpc.Metadata | undefined;
          const unary = client.CreateChatCompletion(
            { messages: [{ role: "user", content: "hi grpc" }] },
            metadata,
            {},
            (error) => resolve({ error, headers }),
          );
          unary.on("metadata", (received: grpc.Metadata) => {
            headers = received;
          });
        });
      const ok = await call();
      expect(ok.error).toBeNull();
      expect(ok.headers?.get("x-ratelimit-remaining-requests")).toEqual(["0"]);
      const refused = await call();
      expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(refused.error?.details).toContain("requests per minute");
      expect(refused.error?.metadata.get("x-ratelimit-limit-requests")).toEqual(["1"]);
      expect(Number(refused.error?.metadata.get("retry-after")[0])).toBeGreaterThanOrEqual(1);
    } finally {
      client.close();
    }
  });

  it("puts the headers on Connect answers too, and refuses a gRPC stream with RESOURCE_EXHAUSTED", async () => {
    const client = createClient(
      ChatService,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    );
    const headers = { authorization: "Bearer sk-rpm-connect-01" };
    let remaining: string | null = null;
    await client.createChatCompletion(
      { messages: [{ role: "user", content: "over connect" }] },
      { headers, onHeader: (received) => (remaining = received.get("x-ratelimit-remaining-requests")) },
    );
    expect(remaining).toBe("0");
    const refused = await client
      .createChatCompletion({ messages: [{ role: "user", content: "again" }] }, { headers })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).toMatchObject({ code: 8 });

    const grpcClient = grpcChatClient(server.port);
    try {
      const metadata = new grpc.Metadata();
      metadata.set("authorization", "Bearer sk-rpm-connect-01");
      const stream = grpcClient.StreamChatCompletion(
        { messages: [{ role: "user", content: "stream" }] },
        metadata,
      );
      const { error } = await collectMessagesAndError(stream);
      expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    } finally {
      grpcClient.close();
    }
  });

  it("labels the refusal limit_exceeded, apart from a vendor's rate_limited, and leaves unlimited keys alone", async () => {
    const free = await chat(openai("sk-unlimited-001")).withResponse();
    expect(free.response.headers.get("x-ratelimit-limit-requests")).toBeNull();
    const refusedLines = server.logs.filter(
      (line) => line.msg === "request completed" && line.outcome === "limit_exceeded",
    );
    expect(refusedLines.length).toBeGreaterThanOrEqual(1);
    expect(server.logs.some((line) => line.outcome === "rate_limited")).toBe(false);
  });
});

describe("tpm", () => {
  it("charges each request's tokens when it ends and refuses once the minute's tokens reach the limit", async () => {
    const client = openai("sk-tpm-chat-0001");
    const first = await chat(client, SIX_WORDS).withResponse();
    expect(first.response.headers.get("x-ratelimit-remaining-tokens")).toBe("20");
    const second = await chat(client, SIX_WORDS).withResponse();
    expect(second.response.headers.get("x-ratelimit-remaining-tokens")).toBe("8");
    // 24 tokens used of 20: refused, though the second request was admitted while under.
    const error = await refusal(chat(client, SIX_WORDS));
    expect(error.status).toBe(429);
    expect(error.message).toContain("tokens per minute (tpm): 20");
    expect(error.headers?.get("x-ratelimit-remaining-tokens")).toBe("0");
    expect(error.headers?.get("x-ratelimit-reset-tokens")).toMatch(/^\d+(\.\d+)?s$/);
    expect(Number(error.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });
});

describe("max_parallel", () => {
  it("refuses a third request while two streams are open, and admits again once one ends", async () => {
    const client = openai("sk-parallel-0001");
    const long = Array.from({ length: 100 }, (_, index) => `w${index}`).join(" ");
    const open = async () => {
      const controller = new AbortController();
      const stream = await client.chat.completions.create(
        { model: "slow-1", stream: true, messages: [{ role: "user", content: long }] },
        { signal: controller.signal },
      );
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      return controller;
    };
    const [a, b] = await Promise.all([open(), open()]);
    const error = await refusal(chat(client));
    expect(error.status).toBe(429);
    expect(error.message).toContain("max_parallel");
    a.abort();
    await expect
      .poll(
        async () =>
          await chat(client).then(
            () => "ok",
            () => "refused",
          ),
        { timeout: 5_000 },
      )
      .toBe("ok");
    b.abort();
  });
});

describe("budget", () => {
  const priced = (client: OpenAI) =>
    client.chat.completions.create({ model: "priced-1", messages: [{ role: "user", content: SIX_WORDS }] });

  it("refuses once the day's spend reached the budget: budget_exceeded, retry-after to midnight UTC", async () => {
    const client = openai("sk-budget-daily-1");
    // 12 tokens at 1 USD per million: 0.000012 USD, over the 0.00001 budget once charged.
    const first = await priced(client).withResponse();
    expect(Number(first.response.headers.get("x-llm-proxy-cost-usd"))).toBeCloseTo(0.000012, 9);
    const error = await refusal(priced(client));
    expect(error.status).toBe(429);
    expect(error.error).toMatchObject({ code: "budget_exceeded", type: "rate_limit_error" });
    expect(error.message).toContain("0.00001 USD per daily period");
    const untilMidnight = Math.ceil((new Date().setUTCHours(24, 0, 0, 0) - Date.now()) / 1000);
    expect(Math.abs(Number(error.headers?.get("retry-after")) - untilMidnight)).toBeLessThanOrEqual(5);
    expect(error.headers?.get("x-should-retry")).toBe("false");
  });

  it("has no retry-after for a total budget", async () => {
    const client = openai("sk-budget-total-1");
    await priced(client);
    const error = await refusal(priced(client));
    expect(error.error).toMatchObject({ code: "budget_exceeded" });
    expect(error.headers?.get("retry-after")).toBeNull();
    expect(error.message).toContain("in total");
  });
});
