/**
 * The OpenAI-compatible adapter: OpenAI itself and every vendor that speaks its Chat Completions wire format
 * (Volcengine, Qianfan, DashScope, DeepSeek, Moonshot, Zhipu, Ollama…). Vendor differences are quirk hooks
 * resolved once here (./quirks.ts), never separate adapters.
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
import type { ProviderConfig } from "../../config/config.ts";
import { ProxyError } from "../../core/errors.ts";
import type { ChatChunk, ChatRequest } from "../../core/types.ts";
import { postUpstream, transportFailure, type UpstreamErrorMapper } from "../http.ts";
import { parseSseStream } from "../sse.ts";
import type { CallContext, ProviderAdapter, UpstreamResponse } from "../types.ts";
import { createOpenAICompatibleErrorMapper } from "./error-map.ts";
import { readOpenAICompatibleCompletion } from "./from-completion.ts";
import { type OpenAICompatibleReaderOptions, readOpenAICompatibleStream } from "./from-stream.ts";
import { type OpenAICompatibleQuirks, resolveQuirks } from "./quirks.ts";
import { toOpenAICompatibleRequest } from "./to-request.ts";

/** Everything precomputed from the config, so a call only builds its body. */
interface AdapterSetup {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly apiKey: string | undefined;
  readonly streamOptions: boolean;
  readonly quirks: OpenAICompatibleQuirks;
  readonly mapError: UpstreamErrorMapper;
}

/** Creates the adapter of one OpenAI-compatible provider; `apiKey` undefined means a keyless upstream. */
export function createOpenAICompatibleAdapter(
  config: ProviderConfig,
  apiKey: string | undefined,
): ProviderAdapter {
  const setup: AdapterSetup = {
    url: `${config.baseUrl}/chat/completions`,
    headers: buildStaticHeaders(config, apiKey),
    apiKey,
    streamOptions: config.streamOptions,
    quirks: resolveQuirks(config.quirks),
    mapError: createOpenAICompatibleErrorMapper(apiKey),
  };
  return {
    name: config.name,
    type: "openai",
    stream: (request, context) => streamChatCompletion(setup, request, context),
  };
}

/** Configured headers are lower-cased so ours replace theirs instead of being sent twice. */
function buildStaticHeaders(
  config: ProviderConfig,
  apiKey: string | undefined,
): Readonly<Record<string, string>> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "text/event-stream" };
  for (const [name, value] of Object.entries(config.headers)) headers[name.toLowerCase()] = value;
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
  return headers;
}

async function* streamChatCompletion(
  setup: AdapterSetup,
  request: ChatRequest,
  context: CallContext,
): AsyncGenerator<ChatChunk> {
  const body = toOpenAICompatibleRequest(request, {
    model: context.upstreamModel,
    streamOptions: setup.streamOptions,
    quirks: setup.quirks,
  });
  const headers = { ...setup.headers, "x-request-id": context.requestId };
  const response = await postUpstream(context, setup.url, headers, JSON.stringify(body), setup.mapError);
  const options: OpenAICompatibleReaderOptions = {
    quirks: setup.quirks,
    apiKey: setup.apiKey,
    generateId: context.generateId,
    log: context.log,
  };
  if (isJsonResponse(response)) {
    yield* readOpenAICompatibleCompletion(await readText(response, context.signal), options);
    return;
  }
  yield* readOpenAICompatibleStream(parseSseStream(guardBody(response.body, context.signal)), options);
}

/** Ollama and some vendors answer `stream: true` with one JSON completion. */
function isJsonResponse(response: UpstreamResponse): boolean {
  const value = response.headers["content-type"];
  const contentType = Array.isArray(value) ? value[0] : value;
  return contentType?.toLowerCase().startsWith("application/json") === true;
}

async function readText(response: UpstreamResponse, signal: AbortSignal): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw bodyFailure(error, signal);
  }
}

/** Turns body read errors into ProxyError: our abort stays `cancelled`, anything else broke the connection. */
async function* guardBody(body: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (error) {
    throw bodyFailure(error, signal);
  }
}

function bodyFailure(error: unknown, signal: AbortSignal): ProxyError {
  if (signal.aborted) return transportFailure(error, signal);
  return new ProxyError("upstream_unavailable", "The connection to the upstream broke mid-response.", {
    cause: error,
  });
}
