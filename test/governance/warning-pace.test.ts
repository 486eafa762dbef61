import { afterEach, describe, expect, it, vi } from "vitest";
import { warningPace } from "../../src/governance/warning-pace.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("warningPace", () => {
  it("says warn at once, then not again until the interval has passed", () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    const timeToWarn = warningPace(10_000);
    expect(timeToWarn()).toBe(true);
    expect(timeToWarn()).toBe(false);
    vi.advanceTimersByTime(9_999);
    expect(timeToWarn()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(timeToWarn()).toBe(true);
    expect(timeToWarn()).toBe(false);
  });

  it("keeps one pace per warning: two paces do not silence each other", () => {
    const failures = warningPace(10_000);
    const drops = warningPace(10_000);
    expect(failures()).toBe(true);
    expect(drops()).toBe(true);
  });
});
