/**
 * Gemini `finishReason` → canonical finish reason. The raw value always travels along in `rawReason`.
 * @see https://ai.google.dev/api/generate-content#FinishReason
 * Mappings follow Vercel's map-google-finish-reason.ts and Portkey's finishReasonMap.ts where they agree;
 * where they differ (RECITATION) the safer content_filter wins.
 */
import type { FinishReason } from "../../core/types.ts";

/**
 * Maps a finish reason. Gemini says `STOP` even when the turn ended with function calls, so `hadToolCalls`
 * turns it into `tool_calls` (as Vercel does). Values newer than this code become `other`.
 */
export function mapGeminiFinishReason(finishReason: string, hadToolCalls: boolean): FinishReason {
  switch (finishReason) {
    case "STOP":
    // OTHER / UNSPECIFIED carry no information a client could act on; OpenAI's enum has nothing closer.
    case "OTHER":
    case "FINISH_REASON_UNSPECIFIED":
      return hadToolCalls ? "tool_calls" : "stop";
    case "MAX_TOKENS":
      return "length";
    case "SAFETY":
    case "RECITATION":
    case "BLOCKLIST":
    case "PROHIBITED_CONTENT":
    case "SPII":
    case "LANGUAGE":
    case "IMAGE_SAFETY":
    case "IMAGE_PROHIBITED_CONTENT":
    case "IMAGE_RECITATION":
      return "content_filter";
    // MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS, NO_IMAGE and future values: a
    // plain "stop" would hide that the turn failed, so keep the raw value visible.
    default:
      return "other";
  }
}
