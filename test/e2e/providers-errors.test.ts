/**
 * Upstream failures of each provider type, end to end through both edges: HTTP error answers in each vendor's
 * own format (OpenAI envelope, Anthropic `{type:"error"}`, Google `{error:{code,status,details}}`) must reach the
 * openai SDK as the right APIError subclass and status and @grpc/grpc-js as the mapped status code (README
 * "Errors"); an error event after the stream started must reach the client after the text sent before it; no
 * key may appear in any error message or log line (the mocks' 401 messages quote the key on purpose).
 */
import * as grpc from "@grpc/grpc-js";
import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  collectMessagesAndError,
  type GrpcChatClient,
  type GrpcChunk,
  grpcChatClient,
  requestIdMetadata,
} from "../helpers/grpc-js-client.ts";
import {
  ANTHROPIC_MOCK_PARTIAL_TEXT,
  startMockAnthropicUpstream,
} from "../helpers/mock-anthropic-upstream.ts";
import { GEMINI_MOCK_PARTIAL_TEXT, startMockGeminiUpstream } from "../helpers/mock-gemini-upstream.ts";
import { startMockOpenAIUpstream } from "../helpers/mock-openai-upstream.ts";
import type { MockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const KEYS = {
  OA_KEY: "sk-oa-secret-never-shown-444",
  ANTHROPIC_KEY: "sk-ant-secret-never-shown-555",
  GEMINI_KEY: "AIzaSecretNeverShown666",
  GEMINI_WRONG_KEY: "AIzaWrongKeyNeverShown777",
} as const;

/** An APIError subclass (their constructors narrow `status`, so typeof APIError does not fit them). */
type ErrorClass = new (...args: never[]) => APIError;

/** What each upstream status must become at both edges (README "Errors"). */
const EXPECTED: Readonly<Record<number, { sdk: ErrorClass; http: number; grpc: grpc.status }>> = {
  400: { sdk: OpenAI.BadRequestError, http: 400, grpc: grpc.status.INVALID_ARGUMENT },
  401: { sdk: OpenAI.AuthenticationError, http: 401, grpc: grpc.status.UNAUTHENTICATED },
  404: { sdk: OpenAI.NotFoundError, http: 404, grpc: grpc.status.NOT_FOUND },
  429: { sdk: OpenAI.RateLimitError, http: 429, grpc: grpc.status.RESOURCE_EXHAUSTED },
  // upstream_error keeps the vendor's 5xx; overloaded (503, Anthropic 529) is a 503.
  500: { sdk: OpenAI.InternalServerError, http: 500, grpc: grpc.status.UNAVAILABLE },
  503: { sdk: OpenAI.InternalServerError, http: 503, grpc: grpc.status.UNAVAILABLE },
  529: { sdk: OpenAI.InternalServerError, http: 503, grpc: grpc.status.UNAVAILABLE },
};

/** Provider name in the gateway → statuses its mock is asked for. */
const CASES: Readonly<Record<string, readonly number[]>> = {
  "oa-vendor": [400, 401, 404, 429, 500, 503],
  "claude-vendor": [400, 401, 404, 429, 500, 503, 529],
  "gemini-vendor": [400, 401, 404, 429, 500, 503],
};

let mocks: MockUpstream[] = [];
let server: RunningServer;
let retrying: RunningServer;

function providersYaml([openai, anthropic, gemini]: MockUpstream[]): string {
  return `
providers:
  oa-vendor: {type: openai, base_url: "${openai?.baseUrl}", api_key_env: OA_KEY}
  claude-vendor: {type: anthropic, base_url: "${anthropic?.baseUrl}", api_key_env: ANTHROPIC_KEY}
  gemini-vendor: {type: gemini, base_url: "${gemini?.baseUrl}", api_key_env: GEMINI_KEY}
  gemini-wrong-key: {type: gemini, base_url: "${gemini?.baseUrl}", api_key_env: GEMINI_WRONG_KEY}
`;
}

beforeAll(async () => {
  mocks = await Promise.all([
    startMockOpenAIUpstream(),
    startMockAnthropicUpstream(KEYS.ANTHROPIC_KEY),
    startMockGeminiUpstream(KEYS.GEMINI_KEY),
  ]);
  [server, retrying] = await Promise.all([
    startServer(`${providersYaml(mocks)}proxy: {max_retries: 0}\n`, { keys: KEYS }),
    startServer(`${providersYaml(mocks)}proxy: {max_retries: 2}\n`, { keys: KEYS }),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.close(), retrying?.close()]);
  await Promise.all(mocks.map((mock) => mock.close()));
});

/** Which of `mocks` serves each provider. */
const MOCK_INDEX: Readonly<Record<string, number>> = {
  "oa-vendor": 0,
  "claude-vendor": 1,
  "gemini-vendor": 2,
  "gemini-wrong-key": 2,
};

function mockOf(provider: string): MockUpstream {
  const mock = mocks[MOCK_INDEX[provider] ?? -1];
  if (mock === undefined) throw new Error(`no mock for ${provider}`);
  return mock;
}

function attemptsWith(provider: string, requestId: string): number {
  return mockOf(provider).requests.filter((request) => request.headers["x-request-id"] === requestId).length;
}

function expectNoSecret(...texts: unknown[]): void {
  const joined = JSON.stringify(texts);
  for (const secret of Object.values(KEYS)) expect(joined).not.toContain(secret);
}

const messages = [{ role: "user" as const, content: "Hello" }];
const sdk = (gateway: RunningServer) =>
  new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client-key", maxRetries: 0 });

/** Streams a chat through the SDK; returns the text seen before the error and the error. */
async function sdkStream(gateway: RunningServer, model: string, requestId: string) {
  let text = "";
  try {
    const stream = await sdk(gateway).chat.completions.create(
      { model, messages, stream: true },
      { headers: { "x-request-id": requestId } },
    );
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
  } catch (error) {
    return { text, error };
  }
  return { text, error: undefined };
}

describe("openai SDK: upstream HTTP errors", () => {
  for (const [provider, statuses] of Object.entries(CASES)) {
    it(`${provider}: ${statuses.join("/")} → APIError subclass and status, not retried, no key`, async () => {
      for (const status of statuses) {
        const expected = EXPECTED[status];
        const rid = `rid-sdk-${provider}-${status}`;
        const { error } = await sdkStream(server, `${provider}/status-${status}`, rid);
        expect(error, `${provider} ${status}`).toBeInstanceOf(expected?.sdk);
        const apiError = error as APIError;
        expect(apiError.status, `${provider} ${status}`).toBe(expected?.http);
        expect(apiError.headers?.get("x-request-id")).toBe(rid);
        expectNoSecret(apiError.message, apiError.error);
        expect(attemptsWith(provider, rid), "max_retries: 0 makes one attempt").toBe(1);
      }
    });
  }

  it("gemini: a wrong key (400 API_KEY_INVALID) is an AuthenticationError", async () => {
    const { error } = await sdkStream(server, "gemini-wrong-key/any-model", "rid-sdk-wrong-key");
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as APIError).status).toBe(401);
    expectNoSecret((error as Error).message, (error as APIError).error);
    const sent = mockOf("gemini-wrong-key").requests.find(
      (request) => request.headers["x-request-id"] === "rid-sdk-wrong-key",
    );
    expect(sent?.headers["x-goog-api-key"]).toBe(KEYS.GEMINI_WRONG_KEY);
  });
});

describe("openai SDK: errors after the stream started", () => {
  const cases = {
    "claude-vendor": { text: ANTHROPIC_MOCK_PARTIAL_TEXT, message: /overloaded/i },
    "gemini-vendor": { text: GEMINI_MOCK_PARTIAL_TEXT, message: /overloaded|UNAVAILABLE/ },
  };
  for (const [provider, expected] of Object.entries(cases)) {
    it(`${provider}: the iterator throws APIError after the text sent before the error event`, async () => {
      const rid = `rid-sdk-midstream-${provider}`;
      const { text, error } = await sdkStream(server, `${provider}/midstream-error`, rid);
      expect(text).toBe(expected.text);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as Error).message).toMatch(expected.message);
      expectNoSecret((error as Error).message, (error as APIError).error);
      expect(attemptsWith(provider, rid), "never retried once started").toBe(1);
    });
  }
});

describe("retries (proxy.max_retries: 2)", () => {
  it("retries 429 and 529 (retry-after 0) up to the limit, never 400 nor a started stream", async () => {
    const cases: [string, number, ErrorClass, number][] = [
      ["oa-vendor", 429, OpenAI.RateLimitError, 3],
      ["claude-vendor", 529, OpenAI.InternalServerError, 3],
      ["claude-vendor", 429, OpenAI.RateLimitError, 3],
      ["gemini-vendor", 429, OpenAI.RateLimitError, 3],
      ["claude-vendor", 400, OpenAI.BadRequestError, 1],
      ["gemini-vendor", 400, OpenAI.BadRequestError, 1],
    ];
    for (const [provider, status, errorClass, attempts] of cases) {
      const rid = `rid-retry-${provider}-${status}`;
      const { error } = await sdkStream(retrying, `${provider}/status-${status}`, rid);
      expect(error, `${provider} ${status}`).toBeInstanceOf(errorClass);
      expect(attemptsWith(provider, rid), `${provider} ${status} attempts`).toBe(attempts);
    }
    const rid = "rid-retry-midstream";
    const { error } = await sdkStream(retrying, "claude-vendor/midstream-error", rid);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(attemptsWith("claude-vendor", rid)).toBe(1);
  });
});

describe("@grpc/grpc-js: upstream errors as status codes", () => {
  let client: GrpcChatClient;
  beforeAll(() => {
    client = grpcChatClient(server.port);
  });
  afterAll(() => client?.close());

  for (const [provider, statuses] of Object.entries(CASES)) {
    it(`${provider}: ${statuses.join("/")} → mapped status code, no key`, async () => {
      for (const status of statuses) {
        const rid = `rid-grpc-${provider}-${status}`;
        const { chunks, error } = await grpcStream(client, `${provider}/status-${status}`, rid);
        expect(chunks).toEqual([]);
        expect(error?.code, `${provider} ${status}`).toBe(EXPECTED[status]?.grpc);
        expectNoSecret(error?.details, error?.metadata.getMap());
        expect(attemptsWith(provider, rid)).toBe(1);
      }
    });
  }

  it("gemini: a wrong key is UNAUTHENTICATED", async () => {
    const { error } = await grpcStream(client, "gemini-wrong-key/any-model", "rid-grpc-wrong-key");
    expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expectNoSecret(error?.details);
  });

  it("an error event mid-stream ends the call with UNAVAILABLE after the chunks before it", async () => {
    for (const [provider, text] of [
      ["claude-vendor", ANTHROPIC_MOCK_PARTIAL_TEXT],
      ["gemini-vendor", GEMINI_MOCK_PARTIAL_TEXT],
    ] as const) {
      const { chunks, error } = await grpcStream(
        client,
        `${provider}/midstream-error`,
        `rid-grpc-mid-${provider}`,
      );
      expect(chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? "").join("")).toBe(text);
      expect(error?.code, provider).toBe(grpc.status.UNAVAILABLE);
      expectNoSecret(error?.details);
    }
  });
});

describe("logs", () => {
  it("no key appears in any log line of either gateway", () => {
    expect(server.logs.length).toBeGreaterThan(0);
    expectNoSecret(server.logs, retrying.logs);
  });
});

/** One streaming call: the chunks received and the error status it ended with (undefined: OK). */
async function grpcStream(
  client: GrpcChatClient,
  model: string,
  requestId: string,
): Promise<{ chunks: GrpcChunk[]; error: grpc.ServiceError | undefined }> {
  const call = client.StreamChatCompletion({ model, messages }, requestIdMetadata(requestId));
  const { messages: chunks, error } = await collectMessagesAndError(call);
  return { chunks, error };
}
