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

/** The gateway's warnings, since log line `since`, that it ignored a reasoning carrier it could not open. */
export function ignoredCarrierWarnings(gateway: ReasoningGateway, since: number): Record<string, unknown>[] {
  return gateway.server.logs.slice(since).filter((line) => line.reasoningCarrier === "ignored");
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
