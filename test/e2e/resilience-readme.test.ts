/**
 * The README's Resilience example is a config the gateway accepts, and it means what the text says (weights,
 * fallbacks, timeouts in seconds); the users' one-provider form stays valid next to it.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";

const readme = readFileSync("README.md", "utf8");

function resilienceExample(): string {
  const section = readme.slice(readme.indexOf("## Resilience"));
  const match = /```yaml\n([\s\S]*?)```/.exec(section);
  if (match?.[1] === undefined) throw new Error("no YAML example in the README's Resilience section");
  return match[1];
}

describe("README: Resilience example", () => {
  it("loads, with weighted deployments, fallbacks and every timeout converted to milliseconds", () => {
    const config = parseConfig(resilienceExample(), "README.md");
    const route = config.routes.find((candidate) => candidate.publicModel === "gpt-4o-mini");
    expect(route?.deployments.map((deployment) => [deployment.provider, deployment.weight])).toEqual([
      ["openai", 3],
      ["openai-backup", 1],
    ]);
    expect(route?.fallbacks).toEqual(["deepseek-chat"]);
    expect(route?.contextWindowFallbacks).toEqual(["gpt-4.1"]);
    expect(config.proxy).toMatchObject({
      timeoutMs: 120_000,
      connectTimeoutMs: 5_000,
      firstTokenTimeoutMs: 30_000,
      streamIdleTimeoutMs: 60_000,
      maxRetries: 2,
      maxRetryWaitMs: 20_000,
      cooldown: { failures: 3, durationMs: 30_000 },
    });
    expect(config.server.drainTimeoutMs).toBe(30_000);
  });

  it("the users' existing form (one provider per model, proxy.timeout in seconds) still loads", () => {
    const config = parseConfig(
      `model_config: {"gpt-4o-mini": openai}
proxy: {timeout: 30, max_retries: 3, default_model: "gpt-4o-mini"}
connector: {limit: 100, limit_per_host: 30}
`,
      "users.yaml",
    );
    expect(config.routes[0]?.deployments).toEqual([
      { provider: "openai", upstreamModel: "gpt-4o-mini", weight: 1 },
    ]);
    expect(config.proxy.timeoutMs).toBe(30_000);
    expect(config.server.drainTimeoutMs).toBe(30_000);
  });
});
