/**
 * Tool-use ids between the Messages edge and upstreams: Anthropic clients expect `toolu_…` ids, other vendors make
 * their own (`call_…`, or the gateway's for Gemini). An upstream id that already starts with `toolu_` is kept;
 * any other is carried inside the Messages id as `toolu_gw_<base64url of the upstream id>`, so the mapping is
 * one-to-one with no table to keep, and a `tool_result` sent back gets the upstream's own id again.
 */

const PREFIX = "toolu_";
const CARRIED = "toolu_gw_";

/** The `toolu_…` id the client sees for an upstream call id. */
export function toToolUseId(upstreamId: string): string {
  if (upstreamId.startsWith(PREFIX) && !upstreamId.startsWith(CARRIED)) return upstreamId;
  return CARRIED + Buffer.from(upstreamId, "utf8").toString("base64url");
}

/** The upstream call id a client's `tool_use` / `tool_result` id stands for (the inverse of toToolUseId). */
export function fromToolUseId(id: string): string {
  if (!id.startsWith(CARRIED)) return id;
  const decoded = Buffer.from(id.slice(CARRIED.length), "base64url").toString("utf8");
  // A client-made id that only looks like ours: keep it as it came.
  return decoded !== "" && toToolUseId(decoded) === id ? decoded : id;
}
