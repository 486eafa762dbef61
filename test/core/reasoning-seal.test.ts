import { describe, expect, it } from "vitest";
import { createReasoningSeal } from "../../src/core/reasoning-seal.ts";
import type { ReasoningState } from "../../src/core/types.ts";

const STATE: ReasoningState = {
  origin: { provider: "anthropic", model: "claude-sonnet-4-5" },
  blocks: [
    { type: "thinking", thinking: "Let me look up the weather.", signature: "EqQBCkYIBxgCKkD" },
    { type: "redacted_thinking", data: "EmwKAhgBEgy3va3p" },
  ],
  toolSignatures: { call_1: "CiQB0e2Kb" },
};

const OLD = { id: "k2025", secret: "an old secret that is long enough to be a key" };
const NEW = { id: "k2026", secret: "a new secret that is long enough to be a key" };

/** Flips one character of the payload, keeping it valid base64url. */
function tamper(carrier: string, position: number): string {
  const at = carrier.length - position;
  const replacement = carrier[at] === "A" ? "B" : "A";
  return `${carrier.slice(0, at)}${replacement}${carrier.slice(at + 1)}`;
}

describe("reasoning seal", () => {
  it("opens what it sealed, and hides the content", () => {
    const seal = createReasoningSeal([NEW]);
    const carrier = seal.seal(STATE);
    expect(carrier).toMatch(/^r1-k2026-[A-Za-z0-9_-]+$/);
    expect(carrier).not.toContain("weather");
    expect(seal.looksSealed(carrier)).toBe(true);
    expect(seal.open(carrier)).toEqual(STATE);
  });

  it("refuses a carrier altered anywhere: payload, tag or key id", () => {
    const seal = createReasoningSeal([NEW, { id: "k2027", secret: "yet another secret of some length" }]);
    const carrier = seal.seal(STATE);
    for (const position of [2, 10, 30, carrier.length - 12]) {
      expect(seal.open(tamper(carrier, position))).toBeUndefined();
    }
    expect(seal.open(carrier.replace("r1-k2026-", "r1-k2027-"))).toBeUndefined();
    expect(seal.open(carrier.slice(0, 20))).toBeUndefined();
    expect(seal.open("call_abc123")).toBeUndefined();
    expect(seal.looksSealed("call_abc123")).toBe(false);
  });

  it("rotates: the new key seals, the old one still opens, a dropped key no longer does", () => {
    const before = createReasoningSeal([OLD]).seal(STATE);
    const rotated = createReasoningSeal([NEW, OLD]);
    expect(rotated.open(before)).toEqual(STATE);
    expect(rotated.seal(STATE)).toMatch(/^r1-k2026-/);
    expect(createReasoningSeal([NEW]).open(before)).toBeUndefined();
  });

  it("refuses a foreign carrier: another gateway's key under the same id", () => {
    const ours = createReasoningSeal([NEW]);
    const theirs = createReasoningSeal([{ id: NEW.id, secret: "some other gateway's secret, same id" }]);
    expect(ours.open(theirs.seal(STATE))).toBeUndefined();
  });

  it("without keys uses one random key per process, shared by every seal it makes", () => {
    const first = createReasoningSeal([]);
    const second = createReasoningSeal([]);
    expect(first.ephemeral).toBe(true);
    expect(second.open(first.seal(STATE))).toEqual(STATE);
    expect(createReasoningSeal([NEW]).open(first.seal(STATE))).toBeUndefined();
  });

  it("refuses key ids that cannot be written into a carrier", () => {
    expect(() => createReasoningSeal([{ id: "has-dash", secret: "x".repeat(40) }])).toThrow(/key id/);
  });
});
