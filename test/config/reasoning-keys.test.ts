/** The `reasoning:` section: key ids and variables, the serving check, and the runtime's seal built from them. */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.ts";
import { parseConfig } from "../../src/config/load.ts";
import { knownSecrets } from "../../src/config/redact.ts";
import { checkServing } from "../../src/config/serving-checks.ts";
import { createRuntime } from "../../src/core/runtime.ts";
import type { ReasoningState } from "../../src/core/types.ts";

const MODELS = "model_config: {m1: echo}\nproviders: {echo: {type: echo}}\n";
const LONG = "a-secret-of-at-least-32-characters-0000";
const STATE: ReasoningState = { origin: { provider: "echo", model: "m1" }, textSignature: "sig" };

function issuesOf(text: string): { path: string; message: string }[] {
  try {
    parseConfig(`${MODELS}${text}`, "reasoning.yaml");
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  return [];
}

describe("reasoning keys in the config", () => {
  it("refuses ids that cannot be written into a carrier, and ids listed twice", () => {
    expect(issuesOf("reasoning: {keys: [{id: has-dash, key_env: K}]}")[0]?.path).toBe("reasoning.keys.0.id");
    expect(issuesOf("reasoning: {keys: [{id: k1, key_env: A}, {id: k1, key_env: B}]}")[0]?.message).toMatch(
      /unique/,
    );
    expect(issuesOf("reasoning: {keys: [{id: k1, key: inline}]}")).not.toEqual([]);
  });

  it("refuses to serve with a key whose variable is unset or short, naming it (never its value)", () => {
    const config = parseConfig(
      `${MODELS}reasoning: {keys: [{id: k1, key_env: RK1}, {id: k0, key_env: RK0}]}`,
      "r.yaml",
    );
    const check = checkServing(config, { RK1: LONG, RK0: "short" }, "warn");
    expect(check.errors).toEqual([
      { path: "reasoning.keys.1.key_env", message: "RK0 is shorter than 32 characters" },
    ]);
    expect(checkServing(config, { RK0: LONG }, "refuse").errors).toContainEqual({
      path: "reasoning.keys.0.key_env",
      message: "RK1 is not set",
    });
    expect(checkServing(config, { RK1: LONG, RK0: LONG }, "refuse").errors).toEqual([]);
  });

  it("the secrets join the ones cut from error answers and log lines", () => {
    const config = parseConfig(`${MODELS}reasoning: {keys: [{id: k1, key_env: RK1}]}`, "r.yaml");
    expect(knownSecrets(config, { RK1: LONG })).toContain(LONG);
  });

  it("the runtime seals with the first key and opens with every one (rotation across a restart)", async () => {
    const before = createRuntime(
      parseConfig(`${MODELS}reasoning: {keys: [{id: old, key_env: OLD}]}`, "r.yaml"),
      {
        keys: { OLD: LONG },
      },
    );
    const carrier = before.reasoningSeal.seal(STATE);
    const after = createRuntime(
      parseConfig(`${MODELS}reasoning: {keys: [{id: new, key_env: NEW}, {id: old, key_env: OLD}]}`, "r.yaml"),
      { keys: { NEW: `${LONG}-new`, OLD: LONG } },
    );
    expect(after.reasoningSeal.open(carrier)).toEqual(STATE);
    expect(after.reasoningSeal.seal(STATE)).toMatch(/^r1-new-/);
    expect(after.core.reasoningSeal).toBe(after.reasoningSeal);
    expect(after.reasoningSeal.ephemeral).toBe(false);
    const withoutKeys = createRuntime(parseConfig(MODELS, "r.yaml"));
    expect(withoutKeys.reasoningSeal.ephemeral).toBe(true);
    await Promise.all([before.close(), after.close(), withoutKeys.close()]);
  });
});
