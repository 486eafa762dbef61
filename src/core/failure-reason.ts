/**
 * The cause of a failed upstream attempt in a few words, for its warn line: the vendor's status and message
 * (`429 Rate limit reached…`), or the gateway's own message, which names what happened (`Could not reach the
 * upstream provider api.vendor.com (ENOTFOUND).`, `No response from the upstream within 30 s.`). Operators grep
 * for it, so it is short, and never carries a secret.
 */
import type { ProxyError } from "./errors.ts";
import { scrubSecrets } from "./secret-scrubber.ts";

/** Longest vendor message quoted; the access line and the client's answer carry the rest of the story. */
const MAX_REASON_CHARS = 200;

/** Why `error` ended its attempt. */
export function failureReason(error: ProxyError): string {
  const message = scrubSecrets(error.message);
  const short = message.length > MAX_REASON_CHARS ? `${message.slice(0, MAX_REASON_CHARS)}…` : message;
  return error.upstreamStatus === undefined ? short : `${error.upstreamStatus} ${short}`;
}
