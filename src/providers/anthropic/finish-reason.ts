/**
 * Anthropic `stop_reason` → canonical finish reason. The raw value always travels along in `rawReason`.
 * @see https://platform.claude.com/docs/en/api/handling-stop-reasons
 * Mappings follow Vercel's map-anthropic-stop-reason.ts and Portkey's finishReasonMap.ts where they agree.
 */
import type { FinishReason } from "../../core/types.ts";

/** Maps a stop reason; null (none sent) and values newer than this code become `other`. */
export function mapAnthropicStopReason(stopReason: string | null): FinishReason {
  switch (stopReason) {
    case "end_turn":
    case "stop_sequence":
      return "stop";
    case "max_tokens":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    // The context window filled up before max_tokens: to a client this is a length cut-off (as Vercel maps it).
    case "model_context_window_exceeded":
      return "length";
    // The turn paused (server tools running long) and the caller could continue it. We send no server tools,
    // so this is rare; "stop" keeps OpenAI clients inside their enum, as Portkey and Vercel also choose.
    case "pause_turn":
      return "stop";
    default:
      return "other";
  }
}
