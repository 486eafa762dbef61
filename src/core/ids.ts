/** Random ids for completions and tool calls (`chatcmpl-…`, `call_…`), in OpenAI's style. */
import { randomBytes } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `prefix-` (or `prefix_` for call ids) followed by 24 random alphanumerics. */
export function generateId(prefix: string): string {
  const bytes = randomBytes(24);
  let suffix = "";
  for (const byte of bytes) suffix += ALPHABET[byte % ALPHABET.length];
  return `${prefix}${prefix === "call" ? "_" : "-"}${suffix}`;
}
