/** The gateway's access line ("request completed") of one request, read from the lines a test captured. */
import { expect } from "vitest";

/**
 * Waits for the access line of `requestId` in `logs` (the response's close event may come just after its body)
 * and checks that there is exactly one; throws after `timeoutMs` without one.
 */
export async function accessLineOf(
  logs: readonly Record<string, unknown>[],
  requestId: string | null,
  timeoutMs = 5_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = logs.filter((line) => line.requestId === requestId && line.msg === "request completed");
    if (lines.length > 0) {
      expect(lines).toHaveLength(1);
      return lines[0] as Record<string, unknown>;
    }
    if (Date.now() > deadline) throw new Error(`no access line for ${requestId}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
