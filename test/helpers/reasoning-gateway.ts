/**
 * A gateway in front of the three thinking mocks (Anthropic, Gemini 3, DeepSeek-style, plus a Kimi-style provider
 * on the DeepSeek mock), for the reasoning-state tests of every edge. Public models: `claude`, `gemini`,
 * `gemini-long` (signatures too long for a tool call id), `deepseek`, `kimi`; `claude` falls back to `gemini`.
 */
import type { MockUpstream } from "./mock-server.ts";
import { type RunningServer, startServer } from "./start-server.ts";
import { startThinkingAnthropicMock, type ThinkingAnthropicMock } from "./thinking-anthropic-mock.ts";
import { startThinkingDeepSeekMock } from "./thinking-deepseek-mock.ts";
import { startThinkingGeminiMock, type ThinkingGeminiMock } from "./thinking-gemini-mock.ts";

export interface ReasoningGateway {
  readonly server: RunningServer;
  readonly anthropic: ThinkingAnthropicMock;
  readonly gemini: ThinkingGeminiMock;
  readonly deepseek: MockUpstream;
  close(): Promise<void>;
}

/** The secret of the configured sealing key. */
export const REASONING_SECRET = "test-reasoning-secret-0123456789abcdef";

export async function startReasoningGateway(): Promise<ReasoningGateway> {
  const [anthropic, gemini, deepseek] = await Promise.all([
    startThinkingAnthropicMock(),
    startThinkingGeminiMock(),
    startThinkingDeepSeekMock(),
  ]);
  const server = await startServer(
    `
providers:
  claude-vendor: {type: anthropic, base_url: "${anthropic.baseUrl}", api_key: sk-ant-test}
  gemini-vendor: {type: gemini, base_url: "${gemini.baseUrl}", api_key: AIza-test}
  deepseek-vendor: {type: openai, base_url: "${deepseek.baseUrl}", api_key: sk-ds-test, quirks: [deepseek]}
  kimi-vendor: {type: openai, base_url: "${deepseek.baseUrl}", api_key: sk-kimi-test, quirks: [moonshot]}
model_config:
  claude: claude-vendor
  gemini: gemini-vendor
  gemini-long: gemini-vendor
  deepseek: deepseek-vendor
  kimi: kimi-vendor
model_routes:
  claude-vendor: {claude: claude-sonnet-4-5}
  gemini-vendor: {gemini: gemini-3-pro-preview, gemini-long: gemini-3-long-preview}
  deepseek-vendor: {deepseek: deepseek-reasoner}
  kimi-vendor: {kimi: kimi-k2-thinking}
fallbacks:
  claude: [gemini]
reasoning:
  keys: [{id: k1, key_env: REASONING_KEY}]
proxy: {max_retries: 0}
`,
    { keys: { REASONING_KEY: REASONING_SECRET } },
  );
  return {
    server,
    anthropic,
    gemini,
    deepseek,
    async close() {
      await server.close();
      await Promise.all([anthropic.close(), gemini.close(), deepseek.close()]);
    },
  };
}
