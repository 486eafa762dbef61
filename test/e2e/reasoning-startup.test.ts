/**
 * The real entry and the `reasoning:` keys: without keys it says at start that carriers will not survive a restart
 * or reach another replica; a key whose variable is unset stops the start, naming the variable.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  killGatewayProcesses,
  runGatewayToExit,
  startGatewayProcess,
  writeTempConfig,
} from "../helpers/gateway-process.ts";

afterEach(killGatewayProcesses);

const MODELS = "model_config: {echo-1: echo}\nstore: {path: ':memory:'}\n";
const NOTE = /reasoning\.keys is not set/;

describe("reasoning keys at start", () => {
  it("without keys: a note that carriers last only as long as the process", async () => {
    const server = await startGatewayProcess(["--config", writeTempConfig(MODELS)]);
    expect(server.lines.some((line) => NOTE.test(line))).toBe(true);
  });

  it("with its key's variable unset: the start is refused, naming the variable", async () => {
    const file = writeTempConfig(`${MODELS}reasoning: {keys: [{id: k1, key_env: TEST_REASONING_KEY}]}\n`);
    const { TEST_REASONING_KEY: _unset, ...env } = process.env;
    const refused = await runGatewayToExit(["--config", file], { env });
    expect(refused.code).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toMatch(
      /reasoning\.keys\.0\.key_env.*TEST_REASONING_KEY is not set/,
    );
  });
});
