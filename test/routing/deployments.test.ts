import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { createDeploymentHealth } from "../../src/routing/deployment-health.ts";
import { orderDeployments } from "../../src/routing/order-deployments.ts";
import { createRouter, type Deployment } from "../../src/routing/router.ts";

const config = parseConfig(
  `
model_config:
  a: [p1, {provider: p2, weight: 3}]
  b: p3
  c: p3
fallbacks: {a: [b, c]}
context_window_fallbacks: {a: [c]}
providers: {p1: {type: echo}, p2: {type: echo}, p3: {type: echo}}
`,
  "t",
);

describe("router", () => {
  it("precomputes a plan: weighted deployments, fallbacks, context-window fallbacks", () => {
    const plan = createRouter(config).resolve("a");
    expect(plan?.primary.deployments.map((deployment) => [deployment.key, deployment.weight])).toEqual([
      ["p1/a", 1],
      ["p2/a", 3],
    ]);
    expect(plan?.fallbacks.map((group) => group.model)).toEqual(["b", "c"]);
    expect(plan?.contextWindowFallbacks.map((group) => group.model)).toEqual(["c"]);
  });

  it("resolves provider/model for configured providers only", () => {
    const router = createRouter(config);
    expect(router.resolve("p1/some-model")?.primary.deployments[0]).toMatchObject({
      provider: "p1",
      upstreamModel: "some-model",
    });
    expect(router.resolve("nope/x")).toBeUndefined();
    expect(router.resolve("unknown")).toBeUndefined();
  });
});

describe("deployment order and cooldown", () => {
  const deployments: Deployment[] = [
    { key: "light", provider: "p1", upstreamModel: "m", weight: 1 },
    { key: "heavy", provider: "p2", upstreamModel: "m", weight: 3 },
  ];

  it("puts each deployment first in proportion to its weight", () => {
    const health = createDeploymentHealth({ failures: 3, durationMs: 1000 });
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let heavyFirst = 0;
    for (let round = 0; round < 4000; round++) {
      if (orderDeployments(deployments, health, 0, random)[0]?.key === "heavy") heavyFirst++;
    }
    expect(heavyFirst / 4000).toBeGreaterThan(0.7);
    expect(heavyFirst / 4000).toBeLessThan(0.8);
  });

  it("cools a failing deployment down, lets one probe through after the cooldown, and recovers on success", () => {
    const health = createDeploymentHealth({ failures: 2, durationMs: 1000 });
    health.recordFailure("heavy", 0);
    expect(health.stateOf("heavy", 0)).toBe("healthy");
    health.recordFailure("heavy", 10);
    expect(health.stateOf("heavy", 500)).toBe("cooling");
    expect(
      orderDeployments(deployments, health, 500, () => 0.99).map((deployment) => deployment.key),
    ).toEqual(["light", "heavy"]);
    expect(health.stateOf("heavy", 1011)).toBe("probe-ready");
    expect(
      orderDeployments(deployments, health, 1011, () => 0.99).map((deployment) => deployment.key),
    ).toEqual(["heavy", "light"]);
    health.beginProbe("heavy");
    expect(
      orderDeployments(deployments, health, 1011, () => 0.99).map((deployment) => deployment.key),
    ).toEqual(["light", "heavy"]);
    expect(health.stateOf("heavy", 1011)).toBe("cooling");
    health.recordFailure("heavy", 1100);
    expect(health.stateOf("heavy", 2000)).toBe("cooling");
    expect(health.stateOf("heavy", 2101)).toBe("probe-ready");
    health.beginProbe("heavy");
    health.recordSuccess("heavy");
    expect(health.stateOf("heavy", 2101)).toBe("healthy");
  });
});
