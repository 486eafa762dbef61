/** OpenAI's rate-limit headers: resets written as Go durations, as OpenAI writes them. */
import { describe, expect, it } from "vitest";
import { formatReset, writeLimitHeaders } from "../../src/governance/ratelimit-headers.ts";

describe("formatReset", () => {
  it.each([
    [0, "0s"],
    [0.0201, "21ms"],
    [0.02, "20ms"],
    [0.999, "999ms"],
    [1, "1s"],
    [1.5, "1.5s"],
    [59.25, "59.25s"],
    [360, "6m0s"],
    [361.5, "6m1.5s"],
    [3600, "1h0m0s"],
    [86_399, "23h59m59s"],
  ])("%s s → %s", (seconds, written) => {
    expect(formatReset(seconds)).toBe(written);
  });
});

describe("writeLimitHeaders", () => {
  it("writes the requests and tokens headers of the windows the key has", () => {
    const headers: Record<string, string> = {};
    writeLimitHeaders(
      {
        requests: { limit: 60, remaining: 59, resetSeconds: 1 },
        tokens: { limit: 1000, remaining: 0, resetSeconds: 0.02 },
      },
      (name, value) => {
        headers[name] = value;
      },
    );
    expect(headers).toEqual({
      "x-ratelimit-limit-requests": "60",
      "x-ratelimit-remaining-requests": "59",
      "x-ratelimit-reset-requests": "1s",
      "x-ratelimit-limit-tokens": "1000",
      "x-ratelimit-remaining-tokens": "0",
      "x-ratelimit-reset-tokens": "20ms",
    });
    const none: string[] = [];
    writeLimitHeaders({}, (name) => none.push(name));
    expect(none).toEqual([]);
  });
});
