/**
 * The gateway of the embeddings tests (over HTTP and gRPC): an OpenAI-compatible mock vendor (also behind the
 * DashScope preset, batches of 10), a Gemini mock, echo, an Anthropic model (which cannot embed), a model whose
 * vendor answers 500 with a fallback, and one whose vendor never answers.
 */
import {
  type MockEmbeddingsUpstream,
  startMockGeminiEmbeddings,
  startMockOpenAIEmbeddings,
} from "./mock-embeddings-upstream.ts";
import { type RunningServer, startServer } from "./start-server.ts";

/** The mocks and the gateway; `close()` stops them all. */
export interface EmbeddingsGateway {
  readonly vendor: MockEmbeddingsUpstream;
  readonly gemini: MockEmbeddingsUpstream;
  readonly server: RunningServer;
  close(): Promise<void>;
}

export async function startEmbeddingsGateway(): Promise<EmbeddingsGateway> {
  const [vendor, gemini] = await Promise.all([startMockOpenAIEmbeddings(), startMockGeminiEmbeddings()]);
  const closeMocks = async (): Promise<void> => {
    await Promise.all([vendor.close(), gemini.close()]);
  };
  let server: RunningServer;
  try {
    server = await startServer(`
providers:
  vendor: {type: openai, base_url: "${vendor.baseUrl}"}
  dash: {preset: dashscope, base_url: "${vendor.baseUrl}", api_key: "sk-dash-test-key-0000"}
  gem: {type: gemini, base_url: "${gemini.baseUrl}", api_key: "gem-test-key-0000"}
  claude: {type: anthropic, base_url: "http://127.0.0.1:9/v1", api_key: "sk-ant-test-key-0000"}
  echo: {type: echo}
model_config:
  text-embedding-3-small: vendor
  qwen-embed: dash
  gemini-embed: gem
  echo-embed: echo
  claude-sonnet: claude
  flaky-embed: vendor
  hang-embed: vendor
model_routes:
  dash: {qwen-embed: max-10}
  gem: {gemini-embed: gemini-embedding-001}
  vendor: {flaky-embed: status-500, hang-embed: hang}
fallbacks:
  flaky-embed: [text-embedding-3-small]
proxy: {max_retries: 1, max_embedding_inputs: 2048}
`);
  } catch (error) {
    await closeMocks();
    throw error;
  }
  return {
    vendor,
    gemini,
    server,
    async close() {
      await server.close();
      await closeMocks();
    },
  };
}
