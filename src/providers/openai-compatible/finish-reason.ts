/**
 * OpenAI finish_reason → canonical finish, keeping the raw value. Vendor additions come from the quirks;
 * anything else unknown becomes `other` (the raw value is passed through to clients, never an error).
 * @see https://platform.openai.com/docs/api-reference/chat/streaming (choices[].finish_reason)
 */
import { ProxyError } from "../../core/errors.ts";
import type { FinishReason } from "../../core/types.ts";
import type { OpenAICompatibleQuirks } from "./quirks.ts";

/** A canonical finish with the vendor's own value. */
export interface MappedFinish {
  readonly reason: FinishReason;
  readonly rawReason: string;
}

const OPENAI_FINISH_REASONS: ReadonlyMap<string, FinishReason> = new Map<string, FinishReason>([
  ["stop", "stop"],
  ["length", "length"],
  ["tool_calls", "tool_calls"],
  ["content_filter", "content_filter"],
]);

/** Maps a finish_reason; throws the ProxyError a quirk assigns to failure reasons (Zhipu `network_error`). */
export function mapOpenAICompatibleFinishReason(raw: string, quirks: OpenAICompatibleQuirks): MappedFinish {
  const known = OPENAI_FINISH_REASONS.get(raw);
  if (known !== undefined) return { reason: known, rawReason: raw };
  const quirk = quirks.finishReasons.get(raw);
  if (quirk === undefined) return { reason: "other", rawReason: raw };
  if ("reason" in quirk) return { reason: quirk.reason, rawReason: raw };
  throw new ProxyError(quirk.error, quirk.message, { code: raw });
}
