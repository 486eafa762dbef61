/**
 * Nothing the vendor said is lost. A mock OpenAI-compatible vendor on loopback answers with OpenAI's documented
 * examples (test/fixtures/openai-compatible/fidelity.*): two choices, one answering with logprobs and a URL
 * citation, one refusing with refusal logprobs, system_fingerprint, service_tier and every usage detail, as JSON
 * and as a stream interleaving the choices. The openai SDK's result through the gateway must equal its result
 * from the vendor directly, except `model` (the public name the client asked for) and `created` (the gateway's
 * clock); the id is the vendor's. A grpc-js client must read the same values on unary and streaming calls (proto
 * has no null list: a null list and an empty one read the same there).
 */
import type * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectMessages, grpcChatClient } from "../helpers/grpc-js-client.ts";
import { type MockUpstream, startMockUpstream } from "../helpers/mock-server.ts";
import { readFixture } from "../helpers/replay-transport.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

type Json = Record<string, unknown>;

const ANSWER = readFixture("openai-compatible/fidelity.json");
const STREAM = readFixture("openai-compatible/fidelity.sse");
const VENDOR_ANSWER = JSON.parse(new TextDecoder().decode(ANSWER)) as Json;
const PUBLIC_MODEL = "chat";
const PARAMS = {
  model: PUBLIC_MODEL,
  messages: [{ role: "user" as const, content: "Say hello, and refuse something." }],
  n: 2,
  logprobs: true,
  top_logprobs: 2,
};

let vendor: MockUpstream;
let gateway: RunningServer;
let direct: OpenAI;
let proxied: OpenAI;

beforeAll(async () => {
  vendor = await startMockUpstream("/v1", (recorded, _request, response) => {
    const stream = recorded.body.stream === true;
    response.writeHead(200, { "content-type": stream ? "text/event-stream" : "application/json" });
    response.end(stream ? STREAM : ANSWER);
  });
  gateway = await startServer(`
providers:
  vendor: {type: openai, base_url: "${vendor.baseUrl}", api_key: sk-fidelity}
model_config: {${PUBLIC_MODEL}: vendor}
`);
  direct = new OpenAI({ baseURL: vendor.baseUrl, apiKey: "sk-fidelity", maxRetries: 0 });
  proxied = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.close();
  await vendor?.close();
});

/** The gateway's `model` is the public name and `created` its own clock: checked, then set aside. */
function withoutGatewayFields(value: object): Json {
  const { model, created, ...rest } = value as Json;
  expect(model).toBe(PUBLIC_MODEL);
  expect(created).toEqual(expect.any(Number));
  return rest;
}

function vendorSide(value: object): Json {
  const { model: _model, created: _created, ...rest } = value as Json;
  return rest;
}

describe("openai SDK: through the gateway equals from the vendor", () => {
  it("JSON: chat.completions.create", async () => {
    const [fromVendor, fromGateway] = await Promise.all([
      direct.chat.completions.create(PARAMS),
      proxied.chat.completions.create(PARAMS),
    ]);
    expect(withoutGatewayFields(fromGateway)).toEqual(vendorSide(fromVendor));
    // Not vacuous: the answer has what the issue lists.
    expect(fromGateway.choices[0]?.logprobs?.content?.[0]?.top_logprobs).toHaveLength(2);
    expect(fromGateway.choices[1]?.message).toMatchObject({ content: null, refusal: expect.any(String) });
    expect(fromGateway.usage?.completion_tokens_details?.accepted_prediction_tokens).toBe(2);
  });

  it("SSE: the stream helper's final completion", async () => {
    const final = (client: OpenAI) =>
      client.chat.completions
        .stream({ ...PARAMS, stream_options: { include_usage: true } })
        .finalChatCompletion();
    const [fromVendor, fromGateway] = await Promise.all([final(direct), final(proxied)]);
    expect(withoutGatewayFields(fromGateway)).toEqual(vendorSide(fromVendor));
    expect(fromGateway.choices.map((choice) => choice.message.annotations?.length)).toEqual([1, undefined]);
    expect(fromGateway.choices[1]?.logprobs?.refusal).toHaveLength(10);
  });

  it("SSE: the raw chunks, choice by choice in the vendor's interleaving, each with its own logprobs", async () => {
    const chunks = async (client: OpenAI) => {
      const stream = await client.chat.completions.create({
        ...PARAMS,
        stream: true,
        stream_options: { include_usage: true },
      });
      const out: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
      for await (const chunk of stream) out.push(chunk);
      return out;
    };
    const [fromVendor, fromGateway] = await Promise.all([chunks(direct), chunks(proxied)]);
    // What each chunk says; the gateway drops an opening delta's empty `content: ""` / `refusal: ""` (the role
    // rides on the choice's first piece), which no client reads as text.
    const pieces = (list: readonly OpenAI.Chat.Completions.ChatCompletionChunk[]) =>
      list.map((chunk) => ({
        id: chunk.id,
        service_tier: chunk.service_tier,
        system_fingerprint: chunk.system_fingerprint,
        usage: chunk.usage,
        choices: chunk.choices.map(({ index, delta, logprobs, finish_reason }) => ({
          index,
          content: delta.content || undefined,
          refusal: delta.refusal || undefined,
          annotations: (delta as { annotations?: unknown }).annotations,
          logprobs,
          finish_reason,
        })),
      }));
    expect(pieces(fromGateway)).toEqual(pieces(fromVendor));
    expect(fromGateway.length).toBeGreaterThan(20);
  });
});

/** Proto Usage's flat counts in OpenAI's nested shape. */
function usageOf(usage: Json | undefined): Json | undefined {
  if (usage === undefined) return undefined;
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.total_tokens,
    prompt_tokens_details: { cached_tokens: usage.cached_tokens, audio_tokens: usage.prompt_audio_tokens },
    completion_tokens_details: {
      reasoning_tokens: usage.reasoning_tokens,
      audio_tokens: usage.completion_audio_tokens,
      accepted_prediction_tokens: usage.accepted_prediction_tokens,
      rejected_prediction_tokens: usage.rejected_prediction_tokens,
    },
  };
}

type Token = { token: string; logprob?: number; bytes?: number[] | null; top_logprobs?: Token[] };

/** A token as both sides can say it: proto3 leaves 0 and empty lists off, and has no null. */
function tokenOf({ token, logprob, bytes, top_logprobs }: Token): Json {
  return {
    token,
    logprob: logprob ?? 0,
    bytes: bytes ?? [],
    ...(top_logprobs === undefined ? {} : { top_logprobs: top_logprobs.map(tokenOf) }),
  };
}

function logprobsOf(logprobs: { content?: Token[] | null; refusal?: Token[] | null } | null | undefined) {
  return {
    content: (logprobs?.content ?? []).map(tokenOf),
    refusal: (logprobs?.refusal ?? []).map((token) => tokenOf({ top_logprobs: [], ...token })),
  };
}

/** A url_citation as both sides can say it (proto3 leaves an index of 0 off). */
function annotationOf(annotation: Json): Json {
  const citation = annotation.url_citation as Json;
  return {
    type: annotation.type,
    url_citation: {
      ...citation,
      start_index: citation.start_index ?? 0,
      end_index: citation.end_index ?? 0,
    },
  };
}

/** What an answer says per choice, in a form the OpenAI JSON and grpc-js objects share. */
function choicesOf(
  choices: readonly {
    index?: number;
    message?: { content?: string | null; refusal?: string | null; annotations?: Json[] };
    logprobs?: Parameters<typeof logprobsOf>[0];
    finish_reason?: string;
  }[],
): Json[] {
  return choices.map((choice) => ({
    index: choice.index ?? 0,
    content: choice.message?.content ?? null,
    refusal: choice.message?.refusal ?? null,
    annotations: (choice.message?.annotations ?? []).map(annotationOf),
    logprobs: logprobsOf(choice.logprobs),
    finish_reason: choice.finish_reason,
  }));
}

/** The vendor's answer in the shared form (its top_logprobs lists are all present). */
function expectedAnswer(): Json {
  const content = VENDOR_ANSWER.choices as Parameters<typeof choicesOf>[0];
  return {
    id: VENDOR_ANSWER.id,
    system_fingerprint: VENDOR_ANSWER.system_fingerprint,
    service_tier: VENDOR_ANSWER.service_tier,
    choices: choicesOf(content).map((choice) => ({
      ...choice,
      logprobs: {
        content: (choice.logprobs as { content: Json[] }).content.map(withTops),
        refusal: (choice.logprobs as { refusal: Json[] }).refusal.map(withTops),
      },
    })),
    usage: VENDOR_ANSWER.usage,
  };
}

/** proto-loader leaves an empty top_logprobs list off (defaults: false); the vendor's JSON says []. */
function withTops(token: Json): Json {
  return { top_logprobs: [], ...token };
}

describe("grpc-js: the same values on unary and streaming calls", () => {
  let client: ReturnType<typeof grpcChatClient>;
  beforeAll(() => {
    client = grpcChatClient(gateway.port);
  });
  afterAll(() => client?.close());

  const request = {
    model: PUBLIC_MODEL,
    messages: PARAMS.messages,
    n: 2,
    extra_body: {
      fields: { logprobs: { boolValue: true }, top_logprobs: { numberValue: 2 } },
    },
    stream_options: { include_usage: true },
  };

  it("unary CreateChatCompletion", async () => {
    const response = await new Promise<Json>((resolve, reject) =>
      client.CreateChatCompletion(request, (error: grpc.ServiceError | null, answer?: object) =>
        error === null ? resolve(answer as Json) : reject(error),
      ),
    );
    const choices = (response.choices as Parameters<typeof choicesOf>[0]).map((choice) => ({
      ...choice,
      logprobs: choice.logprobs && {
        content: choice.logprobs.content?.map((token) => withTops(token as Json)) as Token[],
        refusal: choice.logprobs.refusal?.map((token) => withTops(token as Json)) as Token[],
      },
    }));
    expect({
      id: response.id,
      system_fingerprint: response.system_fingerprint,
      service_tier: response.service_tier,
      choices: choicesOf(choices),
      usage: usageOf(response.usage as Json),
    }).toEqual(expectedAnswer());
    expect(response.model).toBe(PUBLIC_MODEL);
  });

  it("streaming StreamChatCompletion: every chunk stamped, choices reassembled in the vendor's order", async () => {
    const messages = (await collectMessages(client.StreamChatCompletion(request))) as unknown as Json[];
    for (const message of messages) {
      expect(message).toMatchObject({ system_fingerprint: "fp_fc9f1d7035", service_tier: "default" });
    }
    const byChoice = new Map<
      number,
      { content: string; refusal: string; annotations: Json[]; tokens: Json }
    >();
    const order: number[] = [];
    let usage: Json | undefined;
    for (const message of messages) {
      if (message.usage !== undefined) usage = message.usage as Json;
      for (const choice of (message.choices ?? []) as Json[]) {
        const index = (choice.index as number | undefined) ?? 0;
        const delta = (choice.delta ?? {}) as Json;
        const state = byChoice.get(index) ?? {
          content: "",
          refusal: "",
          annotations: [],
          tokens: { content: [], refusal: [] },
        };
        byChoice.set(index, state);
        if (delta.content || delta.refusal) order.push(index);
        state.content += (delta.content as string | undefined) ?? "";
        state.refusal += (delta.refusal as string | undefined) ?? "";
        state.annotations.push(...((delta.annotations as Json[] | undefined) ?? []));
        const logprobs = choice.logprobs as { content?: Json[]; refusal?: Json[] } | undefined;
        (state.tokens.content as Json[]).push(...(logprobs?.content ?? []).map(withTops));
        (state.tokens.refusal as Json[]).push(...(logprobs?.refusal ?? []).map(withTops));
        if (choice.finish_reason !== undefined) (state as Json).finish_reason = choice.finish_reason;
      }
    }
    const reassembled = [...byChoice.entries()]
      .sort(([left], [right]) => left - right)
      .map(([index, state]) => ({
        index,
        message: {
          content: state.content === "" ? null : state.content,
          refusal: state.refusal === "" ? null : state.refusal,
          annotations: state.annotations,
        },
        logprobs: state.tokens as Parameters<typeof logprobsOf>[0],
        finish_reason: (state as Json).finish_reason as string,
      }));
    expect({
      id: messages[0]?.id,
      system_fingerprint: messages[0]?.system_fingerprint,
      service_tier: messages[0]?.service_tier,
      choices: choicesOf(reassembled),
      usage: usageOf(usage),
    }).toEqual(expectedAnswer());
    // The vendor alternates its two choices piece by piece; so does the gRPC stream.
    expect(order.slice(0, 6)).toEqual([0, 1, 0, 1, 0, 1]);
  });
});
