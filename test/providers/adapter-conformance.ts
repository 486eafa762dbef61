/**
 * The adapter conformance suite every provider runs (hono's `runTest({newRouter, skip})` pattern).
 *
 * API (stable; the Anthropic, Gemini and echo tests call it):
 *
 *   runAdapterConformance({
 *     name: "anthropic",
 *     makeAdapter: () => createAnthropicAdapter(config, "sk-ant-test"),
 *     upstreamModel: "claude-sonnet-4-5",
 *     apiKey: "sk-ant-test",                       // optional: checked never to appear in error messages
 *     fixtures: {
 *       text: { recording: sseRecording("anthropic/text.sse"), expectedText: "Hello!" },
 *       errors: [{ recording: jsonRecording("anthropic/error-429.json", 429), expectedKind: "rate_limited" }],
 *       ...
 *     },
 *     skip: [{ case: "reasoning", reason: "…why this provider cannot do it…" }],
 *   });
 *
 * Every case (see `CaseName`) needs a fixture or a skip with a reason; a missing one is a failing test and a
 * skip shows up as `it.skip` with its reason in the title. Expected values come from the suite input, since
 * providers legitimately differ (text, tool names and arguments, usage numbers, raw finish reasons, error
 * kinds). Each streaming case replays its bytes in one chunk, byte by byte, and with several seeded random
 * chunkings, and checks the canonical lifecycle (`expectWellFormedStream`) on top of the case's own values.
 * `recording` may be omitted for adapters that never call the transport (echo); `request` overrides the
 * default request (`CONFORMANCE_REQUEST`, or `CONFORMANCE_TOOL_REQUEST` for tool cases).
 *
 * Mid-stream aborts must surface as ProxyError kind `cancelled` (wrap body-read errors with
 * `transportFailure(error, context.signal)` from src/providers/http.ts).
 */
import { describe, expect, it } from "vitest";
import { aggregateStream } from "../../src/core/aggregate.ts";
import { ProxyError, type ProxyErrorKind } from "../../src/core/errors.ts";
import type {
  ChatChoiceResult,
  ChatChunk,
  ChatRequest,
  FinishReason,
  TokenLogprob,
  Usage,
} from "../../src/core/types.ts";
import type { ProviderAdapter } from "../../src/providers/types.ts";
import {
  createReplayTransport,
  createTestContext,
  type Recording,
  type ReplayOptions,
  type ReplayTransport,
} from "../helpers/replay-transport.ts";

/** The cases of the suite. */
export type CaseName =
  | "text"
  | "parallelToolCalls"
  | "noArgumentTool"
  | "usage"
  | "finishReasons"
  | "reasoning"
  | "fidelity"
  | "unicodeSplit"
  | "errors"
  | "malformedEvent"
  | "midStreamError"
  | "abort";

/** Input common to streaming cases. */
export interface StreamCase {
  /** The upstream answer; omit only for adapters that never call the transport. */
  readonly recording?: Recording;
  /** Overrides the case's default request. */
  readonly request?: ChatRequest;
}

/** A plain text answer finishing with `stop`. */
export interface TextCase extends StreamCase {
  readonly expectedText: string;
}

/** One tool call as it must come out, arguments byte for byte. */
export interface ExpectedToolCall {
  readonly name: string;
  readonly arguments: string;
  /** Checked when given (upstream ids, or ids from the test context's generateId). */
  readonly id?: string;
}

/** Two or more tool calls in one turn, arguments in many fragments, finishing with `tool_calls`. */
export interface ToolCallsCase extends StreamCase {
  readonly expectedCalls: readonly ExpectedToolCall[];
}

/** A call of a tool without arguments: it must come out with arguments exactly "{}". */
export interface NoArgumentToolCase extends StreamCase {
  readonly expectedName: string;
}

/** A stream whose last usage chunk must equal `expectedUsage`. */
export interface UsageCase extends StreamCase {
  readonly expectedUsage: Usage;
}

/** One finish reason mapping; together they must cover stop, length, tool_calls and content_filter. */
export interface FinishReasonCase extends StreamCase {
  readonly label: string;
  readonly expectedReason: FinishReason;
  readonly expectedRawReason: string | null;
}

/** Reasoning deltas followed by text. */
export interface ReasoningCase extends StreamCase {
  readonly expectedReasoning: string;
  readonly expectedText: string;
}

/** What one choice must fold to (see aggregateStream); fields left out must be absent. */
export type ExpectedChoice = Pick<
  ChatChoiceResult,
  "index" | "content" | "refusal" | "annotations" | "logprobs" | "finishReason"
>;

/**
 * An answer with everything a vendor says besides text and tool calls (logprobs, refusal, annotations, the
 * fingerprint and tier, usage details, several choices): the response-start, each choice folded, the usage,
 * and every logprobs list riding on the piece of text (or refusal) its tokens spell.
 */
export interface FidelityCase extends StreamCase {
  readonly label: string;
  readonly expectedStart: Extract<ChatChunk, { type: "response-start" }>;
  readonly expectedChoices: readonly ExpectedChoice[];
  readonly expectedUsage: Usage;
}

/** An HTTP error answered before any byte of the stream; together they must cover REQUIRED_ERROR_STATUSES. */
export interface ErrorCase {
  readonly recording: Recording;
  readonly expectedKind: ProxyErrorKind;
  readonly expectedRetryAfterMs?: number;
  readonly expectedRetryable?: boolean;
  readonly expectedCode?: string;
  readonly request?: ChatRequest;
}

/** A stream that fails after it started (malformed event, error event). */
export interface FailingStreamCase extends StreamCase {
  /** Default `bad_upstream_response`. */
  readonly expectedKind?: ProxyErrorKind;
  /** The text that must have been yielded before the failure. */
  readonly expectedTextBefore?: string;
}

/** A stream the client abandons mid-way; the body stalls after `pauseAfterBytes` (default half). */
export interface AbortCase extends StreamCase {
  readonly pauseAfterBytes?: number;
}

/** The fixtures of a suite, one entry per case. */
export interface ConformanceFixtures {
  readonly text?: TextCase;
  readonly parallelToolCalls?: ToolCallsCase;
  readonly noArgumentTool?: NoArgumentToolCase;
  readonly usage?: UsageCase;
  readonly finishReasons?: readonly FinishReasonCase[];
  readonly reasoning?: ReasoningCase;
  readonly fidelity?: readonly FidelityCase[];
  readonly unicodeSplit?: TextCase;
  readonly errors?: readonly ErrorCase[];
  readonly malformedEvent?: FailingStreamCase;
  readonly midStreamError?: FailingStreamCase;
  readonly abort?: AbortCase;
}

/** A skipped case and why. */
export interface ConformanceSkip {
  readonly case: CaseName;
  readonly reason: string;
}

/** Everything runAdapterConformance needs. */
export interface ConformanceSuite {
  readonly name: string;
  /** A fresh adapter per test. */
  readonly makeAdapter: () => ProviderAdapter;
  /** Put in the CallContext. */
  readonly upstreamModel: string;
  readonly fixtures: ConformanceFixtures;
  readonly skip?: readonly ConformanceSkip[];
  /** The key makeAdapter uses; no error message may contain it. */
  readonly apiKey?: string;
  /** Seeds of the random chunkings. Default [1, 2, 3, 4, 5]. */
  readonly seeds?: readonly number[];
}

/** Statuses the errors case must cover. */
export const REQUIRED_ERROR_STATUSES: readonly number[] = [400, 401, 404, 429, 500, 503];
/** Finish reasons the finishReasons case must cover. */
export const REQUIRED_FINISH_REASONS: readonly FinishReason[] = [
  "stop",
  "length",
  "tool_calls",
  "content_filter",
];

/** The default request of non-tool cases. */
export const CONFORMANCE_REQUEST: ChatRequest = {
  model: "conformance-model",
  messages: [{ role: "user", content: "Say hello." }],
  includeUsage: true,
};

/** The default request of tool cases. */
export const CONFORMANCE_TOOL_REQUEST: ChatRequest = {
  ...CONFORMANCE_REQUEST,
  messages: [{ role: "user", content: "What is the weather in Boston and the time in Tokyo?" }],
  tools: [
    {
      name: "get_weather",
      description: "Current weather for a city.",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
    {
      name: "get_time",
      description: "Local time in a city.",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
    { name: "list_files", description: "List files; takes no arguments.", parameters: { type: "object" } },
  ],
};

/** What one replay produced: the chunks, and the error the iterator threw (if any). */
export interface StreamOutcome {
  readonly chunks: readonly ChatChunk[];
  readonly error: unknown;
  readonly transport: ReplayTransport;
}

/** A tool call reassembled from its chunks. */
export interface AssembledToolCall {
  readonly index: number;
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

/** Runs the whole suite inside a describe block. */
export function runAdapterConformance(suite: ConformanceSuite): void {
  const { fixtures } = suite;
  describe(`adapter conformance: ${suite.name}`, () => {
    defineCase(suite, "text", fixtures.text, (c) => defineTextCase(suite, c, "text"));
    defineCase(suite, "parallelToolCalls", fixtures.parallelToolCalls, (c) => defineToolCallsCase(suite, c));
    defineCase(suite, "noArgumentTool", fixtures.noArgumentTool, (c) => defineNoArgumentCase(suite, c));
    defineCase(suite, "usage", fixtures.usage, (c) =>
      forEachChunking(suite, "usage", c, (outcome) => {
        expectWellFormedStream(outcome.chunks);
        expect(lastUsage(outcome.chunks)).toEqual(c.expectedUsage);
      }),
    );
    defineCase(suite, "finishReasons", fixtures.finishReasons, (cases) => defineFinishCases(suite, cases));
    defineCase(suite, "reasoning", fixtures.reasoning, (c) =>
      forEachChunking(suite, "reasoning", c, (outcome) => {
        expectWellFormedStream(outcome.chunks);
        expect(textOf(outcome.chunks, "reasoning-delta")).toBe(c.expectedReasoning);
        expect(textOf(outcome.chunks)).toBe(c.expectedText);
      }),
    );
    defineCase(suite, "fidelity", fixtures.fidelity, (cases) => defineFidelityCases(suite, cases));
    defineCase(suite, "unicodeSplit", fixtures.unicodeSplit, (c) => defineTextCase(suite, c, "unicodeSplit"));
    defineCase(suite, "errors", fixtures.errors, (cases) => defineErrorCases(suite, cases));
    defineCase(suite, "malformedEvent", fixtures.malformedEvent, (c) =>
      defineFailingCase(suite, "malformedEvent", c),
    );
    defineCase(suite, "midStreamError", fixtures.midStreamError, (c) =>
      defineFailingCase(suite, "midStreamError", c),
    );
    defineCase(suite, "abort", fixtures.abort, (c) => defineAbortCases(suite, c));
  });
}

function defineCase<T>(
  suite: ConformanceSuite,
  name: CaseName,
  fixture: T | undefined,
  define: (fixture: T) => void,
): void {
  const skip = suite.skip?.find((entry) => entry.case === name);
  if (skip !== undefined) {
    if (skip.reason.trim() === "")
      it(`${name}: a skip needs a reason`, () => expect.fail("empty skip reason"));
    else it.skip(`${name}: skipped — ${skip.reason}`, () => {});
    return;
  }
  if (fixture === undefined) {
    it(`${name}: has a fixture or a documented skip`, () => expect.fail(`no fixture for "${name}"`));
    return;
  }
  describe(name, () => define(fixture));
}

function chunkings(suite: ConformanceSuite): { readonly label: string; readonly options: ReplayOptions }[] {
  return [
    { label: "one chunk", options: { maxChunkBytes: Number.POSITIVE_INFINITY } },
    { label: "every byte", options: { maxChunkBytes: 1 } },
    ...(suite.seeds ?? [1, 2, 3, 4, 5]).map((seed) => ({ label: `seed ${seed}`, options: { seed } })),
  ];
}

function forEachChunking(
  suite: ConformanceSuite,
  name: string,
  fixture: StreamCase,
  check: (outcome: StreamOutcome) => void | Promise<void>,
  defaultRequest: ChatRequest = CONFORMANCE_REQUEST,
  expectError = false,
): void {
  for (const { label, options } of chunkings(suite)) {
    it(`${name} [${label}]`, async () => {
      const outcome = await replay(suite, fixture.recording, fixture.request ?? defaultRequest, options);
      if (!expectError && outcome.error !== undefined) throw outcome.error;
      await check(outcome);
    });
  }
}

function defineTextCase(suite: ConformanceSuite, fixture: TextCase, name: string): void {
  forEachChunking(suite, name, fixture, ({ chunks }) => {
    expectWellFormedStream(chunks);
    const text = textOf(chunks);
    expect(text).toBe(fixture.expectedText);
    expect(text.isWellFormed(), "no lone surrogates").toBe(true);
    expect(text.includes("\uFFFD"), "no U+FFFD replacement characters").toBe(false);
    expect(toolCallsOf(chunks)).toEqual([]);
    expect(finishesOf(chunks).map((finish) => [finish.choice, finish.reason])).toEqual([[0, "stop"]]);
  });
}

function defineToolCallsCase(suite: ConformanceSuite, fixture: ToolCallsCase): void {
  it("expects at least two calls", () => expect(fixture.expectedCalls.length).toBeGreaterThanOrEqual(2));
  forEachChunking(
    suite,
    "parallelToolCalls",
    fixture,
    ({ chunks }) => {
      expectWellFormedStream(chunks);
      const calls = toolCallsOf(chunks);
      expect(calls.map((call) => call.index)).toEqual(fixture.expectedCalls.map((_, index) => index));
      expect(calls).toEqual(fixture.expectedCalls.map((want) => expect.objectContaining(want)));
      expect(new Set(calls.map((call) => call.id)).size, "distinct non-empty ids").toBe(calls.length);
      expect(finishesOf(chunks).map((finish) => finish.reason)).toEqual(["tool_calls"]);
    },
    CONFORMANCE_TOOL_REQUEST,
  );
}

function defineNoArgumentCase(suite: ConformanceSuite, fixture: NoArgumentToolCase): void {
  forEachChunking(
    suite,
    "noArgumentTool",
    fixture,
    ({ chunks }) => {
      expectWellFormedStream(chunks);
      const calls = toolCallsOf(chunks);
      expect(calls).toEqual([
        expect.objectContaining({ index: 0, name: fixture.expectedName, arguments: "{}" }),
      ]);
      expect(finishesOf(chunks).map((finish) => finish.reason)).toEqual(["tool_calls"]);
    },
    CONFORMANCE_TOOL_REQUEST,
  );
}

function defineFinishCases(suite: ConformanceSuite, cases: readonly FinishReasonCase[]): void {
  it("covers stop, length, tool_calls and content_filter", () => {
    const covered = new Set(cases.map((entry) => entry.expectedReason));
    expect(REQUIRED_FINISH_REASONS.filter((reason) => !covered.has(reason))).toEqual([]);
  });
  for (const entry of cases) {
    forEachChunking(suite, entry.label, entry, ({ chunks }) => {
      expectWellFormedStream(chunks);
      expect(finishesOf(chunks)).toEqual([
        { choice: 0, reason: entry.expectedReason, rawReason: entry.expectedRawReason },
      ]);
    });
  }
}

function defineFidelityCases(suite: ConformanceSuite, cases: readonly FidelityCase[]): void {
  for (const entry of cases) {
    forEachChunking(suite, `fidelity: ${entry.label}`, entry, async ({ chunks }) => {
      expectWellFormedStream(chunks);
      expect(chunks[0]).toEqual(entry.expectedStart);
      expect(lastUsage(chunks)).toEqual(entry.expectedUsage);
      expectLogprobsOnTheirText(chunks);
      const folded = await foldChoices(chunks, entry.expectedChoices.length);
      expect(
        folded.map(({ index, content, refusal, annotations, logprobs, finishReason }) => ({
          index,
          content,
          refusal,
          annotations,
          logprobs,
          finishReason,
        })),
      ).toEqual(entry.expectedChoices);
    });
  }
}

/** Each logprobs list spells the text it rides on: content tokens a text piece, refusal tokens a refusal piece. */
function expectLogprobsOnTheirText(chunks: readonly ChatChunk[]): void {
  const spelled = (tokens: readonly TokenLogprob[] | null | undefined): string =>
    (tokens ?? []).map((token) => token.token).join("");
  for (const chunk of chunks) {
    if (chunk.type === "text-delta" && chunk.logprobs !== undefined)
      expect(spelled(chunk.logprobs.content), "content logprobs spell their text").toBe(chunk.text);
    if (chunk.type === "refusal-delta" && chunk.logprobs !== undefined)
      expect(spelled(chunk.logprobs.refusal), "refusal logprobs spell their refusal").toBe(chunk.text);
  }
}

/** The choices as the core's aggregate folds the chunks for a whole answer. */
async function foldChoices(chunks: readonly ChatChunk[], choiceCount: number): Promise<ChatChoiceResult[]> {
  async function* replayed(): AsyncGenerator<ChatChunk> {
    yield* chunks.filter((chunk) => chunk.type !== "response-start");
  }
  const result = await aggregateStream({
    id: "conformance",
    created: 0,
    model: "conformance-model",
    choiceCount,
    served: { provider: "conformance", upstreamModel: "conformance", attempts: 1 },
    chunks: replayed(),
  });
  return [...result.choices];
}

function defineErrorCases(suite: ConformanceSuite, cases: readonly ErrorCase[]): void {
  it("covers HTTP 400, 401, 404, 429, 500 and 503", () => {
    const covered = new Set(cases.map((entry) => entry.recording.status));
    expect(REQUIRED_ERROR_STATUSES.filter((status) => !covered.has(status))).toEqual([]);
  });
  for (const entry of cases) {
    it(`HTTP ${entry.recording.status} → ${entry.expectedKind}`, async () => {
      const request = entry.request ?? CONFORMANCE_REQUEST;
      const { chunks, error } = await replay(suite, entry.recording, request, { seed: 1 });
      expect(chunks, "thrown before the first chunk").toEqual([]);
      const proxyError = expectProxyError(suite, error, entry.expectedKind);
      expect(proxyError.upstreamStatus).toBe(entry.recording.status);
      if (entry.expectedRetryAfterMs !== undefined)
        expect(proxyError.retryAfterMs).toBe(entry.expectedRetryAfterMs);
      if (entry.expectedRetryable !== undefined) expect(proxyError.retryable).toBe(entry.expectedRetryable);
      if (entry.expectedCode !== undefined) expect(proxyError.code).toBe(entry.expectedCode);
    });
  }
}

function defineFailingCase(suite: ConformanceSuite, name: CaseName, fixture: FailingStreamCase): void {
  const check = ({ chunks, error }: StreamOutcome): void => {
    expectProxyError(suite, error, fixture.expectedKind ?? "bad_upstream_response");
    expectWellFormedStream(chunks, { complete: false });
    if (fixture.expectedTextBefore !== undefined) expect(textOf(chunks)).toBe(fixture.expectedTextBefore);
  };
  forEachChunking(suite, name, fixture, check, CONFORMANCE_REQUEST, true);
}

function defineAbortCases(suite: ConformanceSuite, fixture: AbortCase): void {
  it("abort mid-stream reaches the transport and surfaces as cancelled", async () => {
    const length = fixture.recording === undefined ? 0 : byteLength(fixture.recording.body);
    const controller = new AbortController();
    const transport = createReplayTransport(fixture.recording ?? [], {
      pauseAfterBytes: fixture.pauseAfterBytes ?? Math.floor(length / 2),
    });
    const context = createTestContext({
      upstreamModel: suite.upstreamModel,
      transport,
      signal: controller.signal,
    });
    const iterator = suite
      .makeAdapter()
      .stream(fixture.request ?? CONFORMANCE_REQUEST, context)
      [Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done, "the stream started").toBe(false);
    controller.abort();
    const { error } = await drain(iterator);
    expectProxyError(suite, error, "cancelled");
    if (transport.requests.length > 0)
      expect(transport.aborted, "the signal reached the transport").toBe(true);
  });
  it("abort before the upstream answers surfaces as cancelled", async () => {
    const controller = new AbortController();
    controller.abort();
    const transport = createReplayTransport(fixture.recording ?? []);
    const context = createTestContext({
      upstreamModel: suite.upstreamModel,
      transport,
      signal: controller.signal,
    });
    const { chunks, error } = await drain(
      suite
        .makeAdapter()
        .stream(fixture.request ?? CONFORMANCE_REQUEST, context)
        [Symbol.asyncIterator](),
    );
    expect(chunks).toEqual([]);
    expectProxyError(suite, error, "cancelled");
  });
}

function expectProxyError(suite: ConformanceSuite, error: unknown, kind: ProxyErrorKind): ProxyError {
  expect(error, "the stream failed").toBeInstanceOf(ProxyError);
  const proxyError = error as ProxyError;
  expect({ kind: proxyError.kind, message: proxyError.message }).toEqual({
    kind,
    message: expect.any(String),
  });
  expect(proxyError.message.length).toBeGreaterThan(0);
  if (suite.apiKey !== undefined) expect(proxyError.message).not.toContain(suite.apiKey);
  return proxyError;
}

/** Streams `request` through a fresh adapter against `recording`, collecting chunks and the error. */
export async function replay(
  suite: Pick<ConformanceSuite, "makeAdapter" | "upstreamModel">,
  recording: Recording | undefined,
  request: ChatRequest,
  options: ReplayOptions,
): Promise<StreamOutcome> {
  const transport = createReplayTransport(recording ?? [], options);
  const context = createTestContext({ upstreamModel: suite.upstreamModel, transport });
  const outcome = await drain(suite.makeAdapter().stream(request, context)[Symbol.asyncIterator]());
  return { ...outcome, transport };
}

async function drain(
  iterator: AsyncIterator<ChatChunk>,
): Promise<{ readonly chunks: ChatChunk[]; readonly error: unknown }> {
  const chunks: ChatChunk[] = [];
  try {
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next())
      chunks.push(next.value);
    return { chunks, error: undefined };
  } catch (error) {
    return { chunks, error };
  }
}

function byteLength(body: string | Uint8Array): number {
  return typeof body === "string" ? new TextEncoder().encode(body).length : body.length;
}

/** The joined text (or reasoning) of one choice. */
export function textOf(
  chunks: readonly ChatChunk[],
  type: "text-delta" | "reasoning-delta" = "text-delta",
  choice = 0,
): string {
  let text = "";
  for (const chunk of chunks) if (chunk.type === type && chunk.choice === choice) text += chunk.text;
  return text;
}

/** The tool calls of one choice, reassembled, in index order. */
export function toolCallsOf(chunks: readonly ChatChunk[], choice = 0): AssembledToolCall[] {
  const calls = new Map<number, { index: number; id: string; name: string; arguments: string }>();
  for (const chunk of chunks) {
    if (chunk.type === "tool-call-start" && chunk.choice === choice) {
      calls.set(chunk.index, { index: chunk.index, id: chunk.id, name: chunk.name, arguments: "" });
    } else if (chunk.type === "tool-call-delta" && chunk.choice === choice) {
      const call = calls.get(chunk.index);
      if (call !== undefined) call.arguments += chunk.arguments;
    }
  }
  return [...calls.values()].sort((a, b) => a.index - b.index);
}

/** The finish chunks, without their type tag. */
export function finishesOf(
  chunks: readonly ChatChunk[],
): { readonly choice: number; readonly reason: FinishReason; readonly rawReason: string | null }[] {
  return chunks.flatMap((chunk) =>
    chunk.type === "finish"
      ? [{ choice: chunk.choice, reason: chunk.reason, rawReason: chunk.rawReason }]
      : [],
  );
}

/** The usage of the last usage chunk. */
export function lastUsage(chunks: readonly ChatChunk[]): Usage | undefined {
  return chunks.findLast((chunk) => chunk.type === "usage")?.usage;
}

/**
 * Checks the canonical lifecycle: one `response-start`, first; per choice, tool-call indices start from 0 in
 * start order, deltas and ends only inside start..end, every call ended before its choice's `finish`, nothing
 * for a choice after its `finish`; with `complete`, every choice that said anything finished.
 */
export function expectWellFormedStream(
  chunks: readonly ChatChunk[],
  options: { readonly complete: boolean } = { complete: true },
): void {
  if (chunks.length > 0) expect(chunks[0]?.type, "response-start comes first").toBe("response-start");
  expect(chunks.filter((chunk) => chunk.type === "response-start").length).toBe(
    options.complete ? 1 : Math.min(1, chunks.length),
  );
  const finished = new Set<number>();
  const seen = new Set<number>();
  const calls = new Map<string, "open" | "ended">();
  const nextIndex = new Map<number, number>();
  for (const [position, chunk] of chunks.entries()) {
    if (chunk.type === "response-start" || chunk.type === "usage") continue;
    const where = `chunk #${position} (${chunk.type}, choice ${chunk.choice})`;
    expect(finished.has(chunk.choice), `${where} comes after its choice finished`).toBe(false);
    seen.add(chunk.choice);
    if (chunk.type === "tool-call-start") {
      expect(chunk.index, `${where}: indices count from 0 in start order`).toBe(
        nextIndex.get(chunk.choice) ?? 0,
      );
      expect(chunk.id.length > 0 && chunk.name.length > 0, `${where}: id and name are set`).toBe(true);
      nextIndex.set(chunk.choice, chunk.index + 1);
      calls.set(`${chunk.choice}:${chunk.index}`, "open");
    } else if (chunk.type === "tool-call-delta" || chunk.type === "tool-call-end") {
      const key = `${chunk.choice}:${chunk.index}`;
      expect(calls.get(key), `${where}: inside the call's start..end`).toBe("open");
      if (chunk.type === "tool-call-end") calls.set(key, "ended");
    } else if (chunk.type === "finish") {
      const open = [...calls].filter(
        ([key, state]) => key.startsWith(`${chunk.choice}:`) && state === "open",
      );
      expect(open, `${where}: every tool call ended first`).toEqual([]);
      finished.add(chunk.choice);
    }
  }
  if (options.complete) {
    expect(finished.size, "at least one choice finished").toBeGreaterThan(0);
    expect(
      [...seen].filter((choice) => !finished.has(choice)),
      "every choice finished",
    ).toEqual([]);
  }
}
