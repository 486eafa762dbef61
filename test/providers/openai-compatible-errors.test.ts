import { describe, expect, it } from "vitest";
import { ProxyError } from "../../src/core/errors.ts";
import { scrubUpstreamText } from "../../src/core/secret-scrubber.ts";
import { createOpenAICompatibleAdapter } from "../../src/providers/openai-compatible/adapter.ts";
import {
  mapOpenAICompatibleHttpError,
  mapOpenAICompatibleStreamError,
} from "../../src/providers/openai-compatible/error-map.ts";
import {
  createCapturingLogger,
  createReplayTransport,
  createTestContext,
  createTestProviderConfig,
  readFixture,
  TEST_NOW,
} from "../helpers/replay-transport.ts";
import { CONFORMANCE_REQUEST } from "./adapter-conformance.ts";

const API_KEY = "sk-proj-Zq8e1Hc4LiveLookingKey0000AbCd";
const fixtureText = (file: string): string =>
  new TextDecoder().decode(readFixture(`openai-compatible/${file}`));

function httpError(status: number, body: string, headers: Record<string, string> = {}): ProxyError {
  return mapOpenAICompatibleHttpError(status, body, headers, TEST_NOW, API_KEY);
}

describe("openai-compatible HTTP error mapping", () => {
  it("scrubs the masked key OpenAI echoes in 401 messages", () => {
    const error = httpError(401, fixtureText("error-401.json"));
    expect(error).toMatchObject({ kind: "authentication", upstreamStatus: 401, code: "invalid_api_key" });
    expect(error.message).toMatch(/^Incorrect API key provided: \[redacted\]\. You can find your API key at/);
    expect(error.message).not.toMatch(/sk-|\*{4}|AbCd/);
  });

  it("scrubs the provider's own key if an upstream echoes it whole", () => {
    const body = JSON.stringify({
      error: { message: `Key ${API_KEY} is disabled; Bearer ${API_KEY}`, type: "x" },
    });
    expect(httpError(403, body).message).not.toContain(API_KEY.slice(8));
  });

  it("reads 429 insufficient_quota as quota_exceeded, not retryable", () => {
    expect(httpError(429, fixtureText("error-429-quota.json"), { "retry-after": "1" })).toMatchObject({
      kind: "quota_exceeded",
      retryable: false,
      upstreamStatus: 429,
      code: "insufficient_quota",
    });
  });

  it("reads DeepSeek's 402 Insufficient Balance as quota_exceeded", () => {
    expect(httpError(402, fixtureText("error-402-deepseek.json"))).toMatchObject({
      kind: "quota_exceeded",
      retryable: false,
      message: "Insufficient Balance",
    });
  });

  it("takes retry-after-ms and retry-after, and honours x-should-retry", () => {
    const body = fixtureText("error-429.json");
    expect(httpError(429, body, { "retry-after-ms": "120" }).retryAfterMs).toBe(120);
    expect(httpError(429, body, { "retry-after": "3" }).retryAfterMs).toBe(3000);
    expect(httpError(429, body, { "x-should-retry": "false" }).retryable).toBe(false);
    expect(httpError(400, fixtureText("error-400.json"), { "x-should-retry": "true" }).retryable).toBe(true);
  });

  it("keeps param and code from the envelope", () => {
    expect(httpError(400, fixtureText("error-400.json"))).toMatchObject({
      kind: "invalid_request",
      param: "messages[0].content",
      code: "invalid_type",
    });
  });

  it("uses a bare string error (Ollama) as the message", () => {
    expect(httpError(404, fixtureText("error-404-ollama.json"))).toMatchObject({
      kind: "upstream_not_found",
      message: 'model "llama9" not found, try pulling it first',
    });
  });

  it("falls back to a generic message for bodies that are not an error envelope", () => {
    const error = httpError(502, "<html><body>502 Bad Gateway</body></html>");
    expect(error).toMatchObject({ kind: "upstream_error", upstreamStatus: 502, retryable: true });
    expect(error.message).toBe("The upstream answered HTTP 502.");
  });

  it("trusts the status over the envelope type, except for quota", () => {
    const body = JSON.stringify({ error: { message: "bad", type: "invalid_request_error" } });
    expect(httpError(500, body).kind).toBe("upstream_error");
  });
});

describe("openai-compatible mid-stream error mapping", () => {
  it.each([
    [{ message: "m", type: "server_error" }, "upstream_error"],
    [{ message: "m", type: "rate_limit_error" }, "rate_limited"],
    [{ message: "m", type: "insufficient_quota", code: "insufficient_quota" }, "quota_exceeded"],
    [{ message: "m", type: "overloaded_error" }, "overloaded"],
    [{ message: "m", type: "BadRequestError", code: 400 }, "invalid_request"],
    [{ message: "m", type: "InternalServerError", code: 503 }, "overloaded"],
    [{ message: "m", type: "something_new" }, "upstream_error"],
    ["plain text error", "upstream_error"],
  ] as const)("%o → %s", (error, kind) => {
    expect(mapOpenAICompatibleStreamError(error, API_KEY).kind).toBe(kind);
  });
});

describe("credential shapes in upstream text", () => {
  it.each([
    ["Incorrect API key provided: sk-abc***xyz.", "Incorrect API key provided: [redacted]."],
    ["bad key sk-proj-AbC_12-3 here", "bad key [redacted] here"],
    ["token bce-v3/ALTAK-xyz/abc123 rejected", "token [redacted] rejected"],
    ["header Bearer abc.def.ghi was refused", "header [redacted] was refused"],
    ["api_key=zhipu123.secret456 invalid", "api_key=[redacted] invalid"],
    [
      "Rate limit reached for gpt-4o-mini; ask-me task-force",
      "Rate limit reached for gpt-4o-mini; ask-me task-force",
    ],
  ])("%s", (input, output) => {
    expect(scrubUpstreamText(input)).toBe(output);
  });
});

describe("openai-compatible adapter on HTTP errors", () => {
  it("throws before any chunk, and neither the error nor any log line holds the key", async () => {
    const body = JSON.stringify({
      error: { message: `Incorrect API key provided: ${API_KEY}.`, type: "invalid_request_error" },
    });
    const { logger, lines } = createCapturingLogger();
    const context = createTestContext({
      transport: createReplayTransport({
        status: 401,
        headers: { "content-type": "application/json" },
        body,
      }),
      log: logger,
    });
    const adapter = createOpenAICompatibleAdapter(createTestProviderConfig(), API_KEY);
    const iterator = adapter.stream(CONFORMANCE_REQUEST, context)[Symbol.asyncIterator]();
    const failure = await iterator.next().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ProxyError);
    expect((failure as ProxyError).message).not.toContain(API_KEY);
    expect(lines.join("\n")).not.toContain(API_KEY);
  });

  it("maps a connection failure to upstream_unavailable", async () => {
    const context = createTestContext({ transport: createReplayTransport({ networkError: "ECONNREFUSED" }) });
    const adapter = createOpenAICompatibleAdapter(createTestProviderConfig(), API_KEY);
    await expect(
      adapter.stream(CONFORMANCE_REQUEST, context)[Symbol.asyncIterator]().next(),
    ).rejects.toMatchObject({
      kind: "upstream_unavailable",
    });
  });
});
