/**
 * The client's extra body (the proto's `extra_body`, or the unknown top-level fields of an HTTP request) carries
 * vendor fields the gateway does not model. It may add fields and override the client's own parameters, but never
 * a field the gateway decides itself:
 * - `model`: which vendor model is called is routing, and per-key allow lists and billing rest on it;
 * - `stream`, `stream_options`: how the vendor answers is the gateway's choice (the adapter parses that answer and
 *   takes the usage for metrics from it); the client's own wish for usage is `stream_options.include_usage` of
 *   the request itself, and nothing else in `stream_options` changes what the client receives, since the gateway
 *   re-encodes every chunk;
 * - the conversation (`messages`, Anthropic's `system`, Gemini's `contents` and `systemInstruction` in either
 *   spelling): translated and checked from the request's `messages`;
 * - a nested `extra_body`: no vendor takes it, but an OpenAI-compatible relay built on OpenAI's Python SDK (a
 *   LiteLLM proxy, say) may merge it over the body it forwards, which would let it pick the model after all.
 * The core refuses a request that tries (checkExtraBody), so the client learns why and nothing is sent; every
 * adapter merges with mergeExtraBody, which skips these fields too, so no adapter relies on the core having looked.
 */
import { ProxyError } from "./errors.ts";
import { isJsonObject } from "./json-object.ts";
import type { JsonObject } from "./types.ts";

const CONVERSATION = "the gateway builds the prompt from the request's messages";
const STREAMING =
  "the gateway decides how the vendor streams; ask for usage with the request's own stream_options.include_usage";

/** Fields extra body can never set, with why (the client reads it). */
const RESERVED: ReadonlyMap<string, string> = new Map([
  ["model", "the gateway picks the vendor model from the request's own model"],
  ["stream", STREAMING],
  ["stream_options", STREAMING],
  ["messages", CONVERSATION],
  ["contents", CONVERSATION],
  ["system", CONVERSATION],
  ["systemInstruction", CONVERSATION],
  ["system_instruction", CONVERSATION],
  ["extra_body", "send vendor fields directly (in extra_body over RPC, as top-level fields over HTTP)"],
]);

/** The reserved field names, for documentation and tests. */
export const RESERVED_EXTRA_BODY_FIELDS: readonly string[] = [...RESERVED.keys()];

/** Throws invalid_request (param `extra_body.<field>`) when the extra body sets a reserved field. */
export function checkExtraBody(extra: JsonObject | undefined): void {
  if (extra === undefined) return;
  for (const [field, why] of RESERVED) {
    if (!Object.hasOwn(extra, field)) continue;
    throw new ProxyError(
      "invalid_request",
      `extra_body cannot set '${field}': ${why}. ` +
        `extra_body (and, over HTTP, any unknown top-level field) can never set ${RESERVED_EXTRA_BODY_FIELDS.join(", ")}.`,
      { param: `extra_body.${field}` },
    );
  }
}

/**
 * `body` with the extra body merged on top, reserved fields left as the adapter wrote them. `deep` merges plain
 * objects key by key (Gemini, whose nested generationConfig the client tunes); otherwise a field replaces ours
 * whole, as OpenAI's own `extra_body` does.
 */
export function mergeExtraBody<T extends Record<string, unknown>>(
  body: T,
  extra: JsonObject | undefined,
  mode: "replace" | "deep",
): T {
  if (extra === undefined) return body;
  const merged: Record<string, unknown> = { ...body };
  for (const [key, value] of Object.entries(extra)) {
    if (RESERVED.has(key) || key === "__proto__") continue;
    const current = merged[key];
    merged[key] =
      mode === "deep" && isJsonObject(current) && isJsonObject(value) ? mergeJson(current, value) : value;
  }
  return merged as T;
}

/** Deep merge of plain objects below the top level, where nothing is reserved. */
function mergeJson(base: JsonObject, extra: JsonObject): JsonObject {
  const merged: JsonObject = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    if (key === "__proto__") continue;
    const current = merged[key];
    merged[key] = isJsonObject(current) && isJsonObject(value) ? mergeJson(current, value) : value;
  }
  return merged;
}
