/** Builds the real app from a YAML config string, for inject() tests and real-socket e2e tests. */
import type { FastifyInstance } from "fastify";
import { parseConfig } from "../../src/config/load.ts";
import { createRuntime, createRuntimeHolder, type RuntimeOverrides } from "../../src/core/runtime.ts";
import { buildServer, type ServerDeps } from "../../src/server.ts";

/** A config with echo models, for tests that need no upstream. */
export const ECHO_CONFIG = `
model_config: {echo-1: echo, echo-slow: slow}
providers:
  slow: {type: echo, token_delay_ms: 30}
proxy: {default_model: echo-1, max_retries: 0}
`;

/**
 * Builds the app (not listening) from YAML; `overrides` inject a fake transport or keys, `deps` a governance store
 * (the caller closes it after the app).
 */
export async function buildTestApp(
  yaml: string,
  overrides: RuntimeOverrides = {},
  deps: Pick<ServerDeps, "store"> = {},
): Promise<FastifyInstance> {
  const config = parseConfig(yaml, "test-config.yaml");
  const runtime = createRuntimeHolder(createRuntime(config, overrides));
  const app = await buildServer({ ...deps, runtime, logger: false });
  app.addHook("onClose", async () => {
    await runtime.current.close();
  });
  return app;
}
