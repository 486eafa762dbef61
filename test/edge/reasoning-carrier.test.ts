import { describe, expect, it } from "vitest";
import { createReasoningSeal } from "../../src/core/reasoning-seal.ts";
import type { ReasoningState } from "../../src/core/types.ts";
import {
  CarrierReader,
  carrierToolCallId,
  MAX_TOOL_CALL_ID_CHARS,
  openAssistantCarriers,
} from "../../src/edge/reasoning-carrier.ts";
import { createCapturedLogger } from "../helpers/captured-logger.ts";

const seal = createReasoningSeal([{ id: "k1", secret: "a secret that is long enough for a key" }]);
const GEMINI = { provider: "gemini-vendor", model: "gemini-3-pro-preview" };
const OTHER = { provider: "gemini-backup", model: "gemini-3-pro-preview" };

function reader() {
  const { loggerInstance, logs } = createCapturedLogger();
  return { carriers: new CarrierReader(seal, loggerInstance), logs };
}

describe("tool call id carriers", () => {
  it("an id carries its call's signature, and comes back as the vendor's id with the state", () => {
    const id = carrierToolCallId(seal, GEMINI, "call_abc", "CqSig");
    expect(id).toMatch(/^call_abc__r1-k1-[A-Za-z0-9_-]+$/);
    const { carriers } = reader();
    expect(carriers.toolCallId(id)).toEqual({
      id: "call_abc",
      state: { origin: GEMINI, toolSignatures: { call_abc: "CqSig" } },
    });
    expect(carriers.vendorId(id)).toBe("call_abc");
  });

  it("no signature, or one too long for the bound: the vendor's id as it is", () => {
    expect(carrierToolCallId(seal, GEMINI, "call_abc", undefined)).toBe("call_abc");
    expect(carrierToolCallId(seal, GEMINI, "call_abc", "x".repeat(MAX_TOOL_CALL_ID_CHARS))).toBe("call_abc");
  });

  it("ids that only look alike are left alone; an altered carrier is stripped, with one warning", () => {
    const { carriers, logs } = reader();
    expect(carriers.toolCallId("toolu__r1-not a carrier")).toEqual({ id: "toolu__r1-not a carrier" });
    expect(carriers.toolCallId("__r1-k1-AAAA")).toEqual({ id: "__r1-k1-AAAA" });
    const id = carrierToolCallId(seal, GEMINI, "call_abc", "CqSig");
    const altered = `${id.slice(0, -3)}${id.at(-3) === "A" ? "B" : "A"}${id.slice(-2)}`;
    expect(carriers.toolCallId(altered)).toEqual({ id: "call_abc" });
    expect(carriers.open(altered.slice("call_abc__".length))).toBeUndefined();
    expect(logs.filter((line) => line.reasoningCarrier === "ignored")).toHaveLength(1);
    expect(JSON.stringify(logs)).not.toContain(altered.slice(20));
  });
});

describe("an assistant message's carriers", () => {
  it("the field wins, ids add the calls it lacks, ids of another origin are left out", () => {
    const field: ReasoningState = {
      origin: GEMINI,
      textSignature: "CqText",
      toolSignatures: { call_1: "CqOne" },
    };
    const calls = [
      { id: carrierToolCallId(seal, GEMINI, "call_1", "CqStale"), name: "a", arguments: "{}" },
      { id: carrierToolCallId(seal, GEMINI, "call_2", "CqTwo"), name: "b", arguments: "{}" },
      { id: carrierToolCallId(seal, OTHER, "call_3", "CqThree"), name: "c", arguments: "{}" },
    ];
    const { carriers } = reader();
    const opened = openAssistantCarriers(carriers, calls, seal.seal(field));
    expect(opened.toolCalls?.map((call) => call.id)).toEqual(["call_1", "call_2", "call_3"]);
    expect(opened.reasoningState).toEqual({
      origin: GEMINI,
      textSignature: "CqText",
      toolSignatures: { call_1: "CqOne", call_2: "CqTwo" },
    });
  });

  it("without a reader (a core without a seal) the message stays as it came", () => {
    const calls = [{ id: "call_1__r1-k1-AAAA", name: "a", arguments: "{}" }];
    expect(openAssistantCarriers(undefined, calls, "r1-k1-AAAA")).toEqual({ toolCalls: calls });
  });
});
