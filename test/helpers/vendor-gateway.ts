/**
 * A gateway in front of the three mock vendors (OpenAI-compatible, Anthropic, Gemini): the setup of the tests
 * that drive one client against every provider type. The test writes its own config around `vendorProviders`.
 */
import { startMockAnthropicUpstream } from "./mock-anthropic-upstream.ts";
import { startMockGeminiUpstream } from "./mock-gemini-upstream.ts";
import { startMockOpenAIUpstream } from "./mock-openai-upstream.ts";
import type { MockUpstream } from "./mock-server.ts";
import { type RunningServer, startServer } from "./start-server.ts";

/** The vendors' keys, read by the config's `api_key_env` (the Anthropic and Gemini mocks check theirs). */
export interface VendorKeys {
  readonly OA_KEY: string;
  readonly ANTHROPIC_KEY: string;
  readonly GEMINI_KEY: string;
}

export const VENDOR_KEYS: VendorKeys = {
  OA_KEY: "sk-oa-111",
  ANTHROPIC_KEY: "sk-ant-222",
  GEMINI_KEY: "AIza333",
};

/** The three mocks. */
export interface VendorMocks {
  readonly openai: MockUpstream;
  readonly anthropic: MockUpstream;
  readonly gemini: MockUpstream;
}

/** The mocks and the gateway in front of them; `close()` stops them all. */
export interface VendorGateway extends VendorMocks {
  readonly server: RunningServer;
  close(): Promise<void>;
}

/** The `model_routes:` of `oa-model`, `claude-model` and `gemini-model` to their vendors' upstream models. */
export const VENDOR_ROUTES = `model_routes:
  oa-vendor: {oa-model: oa-upstream}
  claude-vendor: {claude-model: claude-upstream}
  gemini-vendor: {gemini-model: gemini-upstream}`;

/** The `providers:` entries of the mocks (`oa-vendor`, `claude-vendor`, `gemini-vendor`), as indented YAML lines. */
export function vendorProviders(mocks: VendorMocks): string {
  return [
    `  oa-vendor: {type: openai, base_url: "${mocks.openai.baseUrl}", api_key_env: OA_KEY}`,
    `  claude-vendor: {type: anthropic, base_url: "${mocks.anthropic.baseUrl}", api_key_env: ANTHROPIC_KEY}`,
    `  gemini-vendor: {type: gemini, base_url: "${mocks.gemini.baseUrl}", api_key_env: GEMINI_KEY}`,
  ].join("\n");
}

/** Starts the mocks, then the gateway from the YAML `config` builds from them. */
export async function startVendorGateway(
  config: (mocks: VendorMocks) => string,
  keys: VendorKeys = VENDOR_KEYS,
): Promise<VendorGateway> {
  const [openai, anthropic, gemini] = await Promise.all([
    startMockOpenAIUpstream(),
    startMockAnthropicUpstream(keys.ANTHROPIC_KEY),
    startMockGeminiUpstream(keys.GEMINI_KEY),
  ]);
  const mocks = { openai, anthropic, gemini };
  const closeMocks = async (): Promise<void> => {
    await Promise.all([openai.close(), anthropic.close(), gemini.close()]);
  };
  let server: RunningServer;
  try {
    server = await startServer(config(mocks), { keys: { ...keys } });
  } catch (error) {
    await closeMocks();
    throw error;
  }
  return {
    ...mocks,
    server,
    async close() {
      await server.close();
      await closeMocks();
    },
  };
}
