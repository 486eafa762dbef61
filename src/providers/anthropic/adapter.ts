/**
 * The Anthropic Messages adapter (`type: anthropic`): POST `${baseUrl}/messages` with `stream: true`, then
 * translate the event stream. Non-streaming requests are this stream aggregated by the core.
 * @see https://platform.claude.com/docs/en/api/messages
 */
import type { ProviderConfig } from "../../config/config.ts";
import { ProxyError } from "../../core/errors.ts";
import { startOnFirstRead } from "../../core/start-on-first-read.ts";
import type { ChatChunk, ChatRequest } from "../../core/types.ts";
import { postUpstream, transportFailure, type UpstreamErrorMapper } from "../http.ts";
import { parseSseStream } from "../sse.ts";
import type { CallContext, ProviderAdapter, StreamLimits, UpstreamResponse } from "../types.ts";
import { countAnthropicTokens } from "./count-tokens.ts";
import { mapAnthropicHttpError } from "./error-map.ts";
import { parseAnthropicStream } from "./from-stream.ts";
import { nativeBody, nativeHeaders } from "./native-body.ts";
import { toAnthropicRequest } from "./to-request.ts";

/** Creates the adapter; `apiKey` is resolved by the caller (it goes in `x-api-key` and nowhere else). */
export function createAnthropicAdapter(
  config: ProviderConfig,
  apiKey: string | undefined,
  limits?: StreamLimits,
): ProviderAdapter {
  const url = `${config.baseUrl}/messages`;
  // Built once: only x-request-id changes per call. Configured headers (e.g. anthropic-beta) may override ours;
  // the key comes last so a header block can never replace it by accident.
  const baseHeaders: Readonly<Record<string, string>> = {
    "content-type": "application/json",
    accept: "text/event-stream",
    "anthropic-version": config.anthropicVersion,
    ...lowerCaseKeys(config.headers),
    ...(apiKey === undefined ? {} : { "x-api-key": apiKey }),
  };
  const mapError: UpstreamErrorMapper = (status, body, headers, now) =>
    mapAnthropicHttpError(status, body, headers, now, apiKey);

  // The request is let go once it is sent (src/core/start-on-first-read.ts).
  const stream = (request: ChatRequest, context: CallContext): AsyncIterableIterator<ChatChunk> =>
    startOnFirstRead(async () => {
      const native = request.native?.format === "anthropic" ? request.native : undefined;
      const body =
        native === undefined
          ? toAnthropicRequest(request, context.upstreamModel, config.defaultMaxTokens)
          : nativeBody(native.body, context.upstreamModel);
      const headers = {
        ...baseHeaders,
        ...(native === undefined ? {} : nativeHeaders(native.headers, baseHeaders)),
        "x-request-id": context.requestId,
      };
      const response = await postUpstream(context, url, headers, JSON.stringify(body), mapError);
      return readAnthropicBody(
        response,
        apiKey,
        context.signal,
        limits?.maxSseEventBytes,
        native !== undefined,
      );
    });

  const countTarget = {
    url: `${url}/count_tokens`,
    headers: baseHeaders,
    defaultMaxTokens: config.defaultMaxTokens,
    mapError,
  };
  const countTokens = (request: ChatRequest, context: CallContext): Promise<number> =>
    countAnthropicTokens(countTarget, request, context);

  return { name: config.name, type: "anthropic", stream, countTokens };
}

async function* readAnthropicBody(
  response: UpstreamResponse,
  apiKey: string | undefined,
  signal: AbortSignal,
  maxSseEventBytes: number | undefined,
  signatures: boolean,
): AsyncGenerator<ChatChunk> {
  try {
    yield* parseAnthropicStream(parseSseStream(response.body, maxSseEventBytes), apiKey, signatures);
  } catch (error) {
    // Reading the body can fail too (reset, abort): keep our own errors, map the transport's.
    throw error instanceof ProxyError ? error : transportFailure(error, signal);
  }
}

/** HTTP header names are case-insensitive; one spelling avoids sending a header twice. */
function lowerCaseKeys(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
