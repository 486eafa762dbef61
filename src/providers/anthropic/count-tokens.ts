/**
 * Anthropic's own token count: POST `${baseUrl}/messages/count_tokens` with the Messages client's body (the
 * `native` value, model id replaced), or the translated request without the fields the endpoint refuses.
 * @see https://platform.claude.com/docs/en/api/messages-count-tokens
 */
import { z } from "zod";
import { ProxyError } from "../../core/errors.ts";
import type { ChatRequest, JsonObject } from "../../core/types.ts";
import { postUpstream, transportFailure, type UpstreamErrorMapper } from "../http.ts";
import type { CallContext } from "../types.ts";
import { toAnthropicRequest } from "./to-request.ts";

const answerSchema = z.object({ input_tokens: z.number().int().nonnegative() });

/** What the count needs of the adapter: where, with which headers, and how errors map. */
export interface CountTokensTarget {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly defaultMaxTokens: number;
  readonly mapError: UpstreamErrorMapper;
}

/** Asks Anthropic to count `request`'s input tokens. */
export async function countAnthropicTokens(
  target: CountTokensTarget,
  request: ChatRequest,
  context: CallContext,
): Promise<number> {
  const native = request.native?.format === "anthropic" ? request.native : undefined;
  const body =
    native === undefined
      ? translatedBody(request, context, target)
      : { ...native.body, model: context.upstreamModel };
  const beta = native?.headers["anthropic-beta"];
  const headers = {
    ...target.headers,
    accept: "application/json",
    ...(beta === undefined ? {} : { "anthropic-beta": beta }),
    "x-request-id": context.requestId,
  };
  const response = await postUpstream(context, target.url, headers, JSON.stringify(body), target.mapError);
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw transportFailure(error, context.signal);
  }
  const parsed = answerSchema.safeParse(safeJson(text));
  if (!parsed.success) {
    throw new ProxyError("bad_upstream_response", "Anthropic answered count_tokens without input_tokens.");
  }
  return parsed.data.input_tokens;
}

/** The translated request without what count_tokens refuses (sampling, output and streaming fields). */
function translatedBody(request: ChatRequest, context: CallContext, target: CountTokensTarget): JsonObject {
  const full = toAnthropicRequest(request, context.upstreamModel, target.defaultMaxTokens);
  const { max_tokens, stream, temperature, top_p, stop_sequences, metadata, ...counted } = full;
  return counted as JsonObject;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
