/**
 * What the reasoning-state e2e files (one per edge) share: one reasoning gateway per file with its mocks' records
 * cleared before each test, the last body a mock received, and the checks on the gateway's logs.
 */
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { type ReasoningGateway, startReasoningGateway } from "./reasoning-gateway.ts";
import { THINKING_TEXT } from "./thinking-anthropic-mock.ts";

/**
 * Starts a reasoning gateway before the file's tests and closes it after them; before each test its mocks forget
 * what they received and Anthropic answers again. Call at the top of a test file; use the result inside tests.
 */
export function useReasoningGateway(): ReasoningGateway {
  let current: ReasoningGateway | undefined;
  beforeAll(async () => {
    current = await startReasoningGateway();
  });
  afterAll(async () => {
    await current?.close();
  });
  beforeEach(() => {
    const gateway = started();
    gateway.anthropic.requests.length = 0;
    gateway.gemini.requests.length = 0;
    gateway.deepseek.requests.length = 0;
    gateway.anthropic.setOverloaded(false);
  });
  function started(): ReasoningGateway {
    if (!current) throw new Error("the reasoning gateway is used before its beforeAll started it");
    return current;
  }
  return {
    get server() {
      return started().server;
    },
    get anthropic() {
      return started().anthropic;
    },
    get gemini() {
      return started().gemini;
    },
    get deepseek() {
      return started().deepseek;
    },
    close: () => started().close(),
  };
}

/** The body of the last request a mock received ({} when none). */
export function lastBody(mock: { requests: { body: Record<string, unknown> }[] }): Record<string, unknown> {
  return mock.requests.at(-1)?.body ?? {};
}

/** A Gemini request's contents, turn by turn. */
export type GeminiContents = { role: string; parts: Record<string, unknown>[] }[];

/** The contents of the last request Gemini received. */
export function lastGeminiContents(gateway: ReasoningGateway): GeminiContents {
  return (lastBody(gateway.gemini).contents ?? []) as GeminiContents;
}

/**
 * Checks that Gemini's last request carried, on the function call of its model turn (the second content), a
 * thoughtSignature Gemini made; returns that part.
 */
export function expectGeminiSignatureBack(gateway: ReasoningGateway): Record<string, unknown> | undefined {
  const call = lastGeminiContents(gateway)[1]?.parts.find((part) => part.functionCall !== undefined);
  expect(gateway.gemini.signatures.has(String(call?.thoughtSignature))).toBe(true);
  return call;
}

/** The carrier with one character near its end changed, so its seal no longer opens. */
export function tamperedCarrier(carrier: string): string {
  const flipped = carrier.at(-5) === "A" ? "B" : "A";
  return `${carrier.slice(0, -5)}${flipped}${carrier.slice(-4)}`;
}

/** Since log line `since`, exactly one warning that a reasoning carrier was ignored, with no piece of `carrier`. */
export function expectOneIgnoredCarrier(gateway: ReasoningGateway, since: number, carrier: string): void {
  const warnings = gateway.server.logs.slice(since).filter((line) => line.reasoningCarrier === "ignored");
  expect(warnings).toHaveLength(1);
  expect(JSON.stringify(warnings)).not.toContain(carrier.slice(10, 40));
}

/** Neither the vendors' thinking, nor their signatures, nor a sealed carrier reached the gateway's logs. */
export function expectNoReasoningStateInLogs(gateway: ReasoningGateway): void {
  const logs = JSON.stringify(gateway.server.logs);
  expect(gateway.server.logs.length).toBeGreaterThan(0);
  expect(logs).not.toContain(THINKING_TEXT);
  for (const signature of [...gateway.anthropic.signatures.keys(), ...gateway.gemini.signatures]) {
    expect(logs).not.toContain(signature);
  }
  expect(logs).not.toMatch(/r1-k1-[A-Za-z0-9_-]{20}/);
}
