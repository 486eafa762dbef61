/**
 * An upstream's whole JSON answer read against the adapter's schema: a body that breaks off is the transport's
 * failure; what does not parse, or does not match, is a `bad_upstream_response` (the cause kept for the log), the
 * same words for every adapter.
 */
import type { z } from "zod";
import { ProxyError } from "../core/errors.ts";
import { transportFailure } from "./http.ts";
import type { UpstreamResponse } from "./types.ts";

/** The whole body; the body's own verdict (over proxy.max_response_bytes) is kept, else the transport's. */
export async function readUpstreamText(response: UpstreamResponse, signal: AbortSignal): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw transportFailure(error, signal);
  }
}

/** `text` as JSON; invalid JSON is a bad upstream response. */
export function parseUpstreamJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ProxyError("bad_upstream_response", "The upstream answered with invalid JSON.", {
      cause: error,
    });
  }
}

/** `json` checked against `schema`; a mismatch is a bad upstream response. */
export function readUpstreamAnswer<Schema extends z.ZodType>(
  schema: Schema,
  json: unknown,
): z.output<Schema> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ProxyError("bad_upstream_response", "The upstream answered with an unexpected body.", {
      cause: parsed.error,
    });
  }
  return parsed.data;
}
