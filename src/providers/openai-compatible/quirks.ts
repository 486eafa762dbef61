/**
 * Vendor quirk hooks of the OpenAI-compatible adapter. A provider switches them on by name (`quirks:` in its
 * config or preset); they are resolved once per adapter into flags and tables, so the hot path reads plain
 * fields. Vendors are hooks here, never copies of the adapter.
 * @see docs/wire-formats.md#openai-compatible-vendors (the per-vendor facts these hooks encode)
 */
import type { QuirkName } from "../../config/config.ts";
import type { ProxyErrorKind } from "../../core/errors.ts";
import type { FinishReason } from "../../core/types.ts";

/** What a vendor-specific finish_reason means: a canonical reason, or a failure to throw. */
export type QuirkFinish =
  | { readonly reason: FinishReason }
  | { readonly error: ProxyErrorKind; readonly message: string };

/** The resolved quirks of one provider. */
export interface OpenAICompatibleQuirks {
  /** Finish reasons a vendor adds to OpenAI's four. */
  readonly finishReasons: ReadonlyMap<string, QuirkFinish>;
  /**
   * Later fragments of a tool call may repeat `id`/`type`/`name` (DashScope sends `"id":""`): they always belong
   * to the first call of that index. Without it, a fragment with a new id *and* a name on an index already in
   * use starts a new call (vendors that put every parallel call at index 0).
   */
  readonly repeatsToolCallHeaders: boolean;
  /** Usage may sit in `choices[i].usage` instead of the top level (Moonshot/Kimi). */
  readonly usageInChoices: boolean;
  /** Assistant turns with tool calls must carry their `reasoning_content` back (DeepSeek, Kimi thinking). */
  readonly sendsReasoningContent: boolean;
  /** Every call must stream, also for non-streaming clients (DashScope's thinking models refuse whole answers). */
  readonly requiresStreaming: boolean;
}

type QuirkHooks = Partial<Omit<OpenAICompatibleQuirks, "finishReasons">> & {
  readonly finishReasons?: Readonly<Record<string, QuirkFinish>>;
};

/** The hooks each quirk name switches on. */
const QUIRKS: Readonly<Record<QuirkName, QuirkHooks>> = {
  /**
   * Streamed tool-call fragments repeat `"id":""` and `"type":"function"`; keep the first id. Qwen3 thinking
   * models answer a non-streaming call with 400 "parameter.enable_thinking must be set to false for
   * non-streaming calls", so calls always stream.
   * @see https://github.com/vercel/ai/blob/main/packages/alibaba/src/__fixtures__/alibaba-tool-call.chunks.txt
   * @see https://help.aliyun.com/zh/model-studio/deep-thinking
   */
  dashscope: { repeatsToolCallHeaders: true, requiresStreaming: true },
  /**
   * Thinking mode needs `reasoning_content` back on tool-call turns (else HTTP 400); generation can be cut off
   * with `insufficient_system_resource`, which we surface as an overload so the core can retry unsent work.
   * `: keep-alive` comments and usage on the finish chunk need nothing special (the SSE parser and the base
   * stream reader handle them).
   * @see https://api-docs.deepseek.com/guides/thinking_mode
   * @see https://api-docs.deepseek.com/api/create-chat-completion (finish_reason)
   */
  deepseek: {
    sendsReasoningContent: true,
    finishReasons: {
      insufficient_system_resource: {
        error: "overloaded",
        message: "The upstream ran out of capacity before finishing the response.",
      },
    },
  },
  /**
   * Streaming usage can arrive in `choices[0].usage` (observed on kimi-k2.5). Kimi's thinking models want each
   * tool-call turn's `reasoning_content` back, as DeepSeek's thinking mode does.
   * @see https://github.com/vercel/ai/blob/main/packages/moonshotai/src/__fixtures__/moonshotai-stream-choice-usage.chunks.txt
   * @see https://platform.moonshot.ai/docs/guide/use-kimi-k2-thinking-model
   */
  moonshot: { usageInChoices: true, sendsReasoningContent: true },
  /**
   * `sensitive`: blocked by moderation; `network_error`: inference failed.
   * @see https://docs.bigmodel.cn (chat completion API reference, finish_reason)
   */
  zhipu: {
    finishReasons: {
      sensitive: { reason: "content_filter" },
      network_error: {
        error: "upstream_error",
        message: "The upstream failed while generating the response.",
      },
    },
  },
};

/** Merges the hooks of the named quirks. */
export function resolveQuirks(names: readonly QuirkName[]): OpenAICompatibleQuirks {
  const finishReasons = new Map<string, QuirkFinish>();
  let repeatsToolCallHeaders = false;
  let usageInChoices = false;
  let sendsReasoningContent = false;
  let requiresStreaming = false;
  for (const name of names) {
    const hooks = QUIRKS[name];
    for (const [raw, finish] of Object.entries(hooks.finishReasons ?? {})) finishReasons.set(raw, finish);
    repeatsToolCallHeaders ||= hooks.repeatsToolCallHeaders === true;
    usageInChoices ||= hooks.usageInChoices === true;
    sendsReasoningContent ||= hooks.sendsReasoningContent === true;
    requiresStreaming ||= hooks.requiresStreaming === true;
  }
  return { finishReasons, repeatsToolCallHeaders, usageInChoices, sendsReasoningContent, requiresStreaming };
}
