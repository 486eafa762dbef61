/** Named SSE frames as the Messages and Responses encoders write them (`event: …` then `data: …`), parsed. */

export interface SseFrame {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** The frames of an encoder's text, in order. */
export function sseFrames(text: string): SseFrame[] {
  return text
    .split("\n\n")
    .filter((frame) => frame !== "")
    .map((frame) => {
      const [eventLine, dataLine] = frame.split("\n");
      return {
        event: eventLine?.slice("event: ".length) ?? "",
        data: JSON.parse(dataLine?.slice("data: ".length) ?? "{}"),
      };
    });
}
