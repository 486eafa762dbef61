/** Namespace tools' upstream names: joined when vendor-safe, else a stable, vendor-safe, distinct short form. */
import { describe, expect, it } from "vitest";
import { planTools, upstreamToolName } from "../../src/responses/tools.ts";

const SAFE = /^[a-zA-Z0-9_-]{1,64}$/;

describe("upstreamToolName", () => {
  it("joins namespace and name when every vendor takes the result", () => {
    expect(upstreamToolName("spawn_agent", "multi_agent_v1")).toBe("multi_agent_v1__spawn_agent");
    expect(upstreamToolName("exec_command", undefined)).toBe("exec_command");
  });

  it("shortens long or unsafe joined names stably, keeping them apart", () => {
    const long = "a".repeat(40);
    const first = upstreamToolName(`${long}_one`, "namespace.with.dots");
    const second = upstreamToolName(`${long}_two`, "namespace.with.dots");
    expect(first).toMatch(SAFE);
    expect(second).toMatch(SAFE);
    expect(first).not.toBe(second);
    expect(upstreamToolName(`${long}_one`, "namespace.with.dots")).toBe(first);
  });

  it("maps a shortened name back to the client's tool", () => {
    const plan = planTools([
      { type: "namespace", name: "namespace.with.dots", tools: [{ type: "function", name: "x".repeat(70) }] },
    ] as unknown as { type: string }[]);
    const upstream = plan.tools?.[0]?.name ?? "";
    expect(upstream).toMatch(SAFE);
    expect(plan.byUpstreamName.get(upstream)).toEqual({
      name: "x".repeat(70),
      namespace: "namespace.with.dots",
      custom: false,
    });
  });
});
