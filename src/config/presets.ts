/**
 * Built-in provider presets: a provider named like a preset (or with `preset:` set) starts from these
 * values, and any field in the config overrides them.
 * Base URLs and key variables, with the vendor pages they come from:
 * docs/wire-formats.md#vendors-base-urls-and-keys.
 */
import type { ProviderType } from "../providers/types.ts";

/** What a preset fixes for a provider. */
export interface ProviderPreset {
  readonly type: ProviderType;
  readonly baseUrl: string;
  /** Environment variable holding the key; undefined for keyless upstreams (echo, ollama). */
  readonly apiKeyEnv?: string;
  /** Quirk hooks of OpenAI-compatible vendors (see src/providers/openai-compatible/quirks.ts). */
  readonly quirks?: readonly string[];
  /** Variables of an IAM key pair that mints bearer tokens instead of an API key (Qianfan). */
  readonly accessKeyEnv?: string;
  readonly secretKeyEnv?: string;
  /** Where those tokens are minted. */
  readonly iamUrl?: string;
  /** Most inputs the vendor embeds per call (the provider setting `max_embedding_batch`). */
  readonly maxEmbeddingBatch?: number;
}

/**
 * Qianfan takes its console API key, or an IAM Access Key / Secret Key pair (the variables the qianfan SDK
 * reads) from which bearer tokens are minted: docs/wire-formats.md#qianfan-access-key-and-secret-key.
 */
const QIANFAN: ProviderPreset = {
  type: "openai",
  baseUrl: "https://qianfan.baidubce.com/v2",
  apiKeyEnv: "QIANFAN_API_KEY",
  accessKeyEnv: "QIANFAN_ACCESS_KEY",
  secretKeyEnv: "QIANFAN_SECRET_KEY",
  iamUrl: "https://iam.bj.baidubce.com",
};

/** Presets by name. `baidu` and `alibaba` are aliases the users' files use. */
export const PROVIDER_PRESETS: Readonly<Record<string, ProviderPreset>> = {
  echo: { type: "echo", baseUrl: "echo:" },
  openai: { type: "openai", baseUrl: "https://api.openai.com/v1", apiKeyEnv: "OPENAI_API_KEY" },
  anthropic: { type: "anthropic", baseUrl: "https://api.anthropic.com/v1", apiKeyEnv: "ANTHROPIC_API_KEY" },
  gemini: {
    type: "gemini",
    baseUrl: "https://generativelanguage.googleapis.com/v1beta",
    apiKeyEnv: "GEMINI_API_KEY",
  },
  volcengine: {
    type: "openai",
    baseUrl: "https://ark.cn-beijing.volces.com/api/v3",
    apiKeyEnv: "VOLCENGINE_API_KEY",
  },
  qianfan: QIANFAN,
  baidu: QIANFAN,
  dashscope: {
    type: "openai",
    baseUrl: "https://dashscope.aliyuncs.com/compatible-mode/v1",
    apiKeyEnv: "DASHSCOPE_API_KEY",
    quirks: ["dashscope"],
    // text-embedding-v3/v4 refuse more than 10 inputs per call.
    maxEmbeddingBatch: 10,
  },
  alibaba: {
    type: "openai",
    baseUrl: "https://dashscope.aliyuncs.com/compatible-mode/v1",
    apiKeyEnv: "DASHSCOPE_API_KEY",
    quirks: ["dashscope"],
    // text-embedding-v3/v4 refuse more than 10 inputs per call.
    maxEmbeddingBatch: 10,
  },
  deepseek: {
    type: "openai",
    baseUrl: "https://api.deepseek.com/v1",
    apiKeyEnv: "DEEPSEEK_API_KEY",
    quirks: ["deepseek"],
  },
  moonshot: {
    type: "openai",
    baseUrl: "https://api.moonshot.cn/v1",
    apiKeyEnv: "MOONSHOT_API_KEY",
    quirks: ["moonshot"],
  },
  zhipu: {
    type: "openai",
    baseUrl: "https://open.bigmodel.cn/api/paas/v4",
    apiKeyEnv: "ZHIPU_API_KEY",
    quirks: ["zhipu"],
  },
  ollama: { type: "openai", baseUrl: "http://127.0.0.1:11434/v1" },
};
