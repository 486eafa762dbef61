/**
 * The OpenAI-compatible adapter: OpenAI itself and every vendor that speaks its Chat Completions wire format
 * (Volcengine, Qianfan, DashScope, DeepSeek, Moonshot, Zhipu, Ollama…). Vendor differences are quirk hooks
 * resolved once here (./quirks.ts), never separate adapters.
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
import type { ProviderConfig } from "../../config/config.ts";
import { singleBatch, UnbatchedChunks } from "../../core/batches.ts";
import { ProxyError } from "../../core/errors.ts";
import { startOnFirstRead } from "../../core/start-on-first-read.ts";
import type { ChatChunk, ChatRequest } from "../../core/types.ts";
import { postWithKeyOrBearer } from "../bearer-post.ts";
import { transportFailure, type UpstreamErrorMapper } from "../http.ts";
import type { BearerSource } from "../qianfan/iam-token.ts";
import { SseChunkBatches } from "../sse-batches.ts";
import type { CallContext, ProviderAdapter, StreamLimits, UpstreamResponse } from "../types.ts";
import { embeddingsSetup, embedOpenAICompatible } from "./embeddings.ts";
import { createOpenAICompatibleErrorMapper } from "./error-map.ts";
import { readOpenAICompatibleCompletion } from "./from-completion.ts";
import { type OpenAICompatibleReaderOptions, OpenAICompatibleStreamReader } from "./from-stream.ts";
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
  readonly maxSseEventBytes: number | undefined;
  /** Minted bearer tokens instead of a fixed key (Qianfan with an access key); they go in per call. */
  readonly bearer: BearerSource | undefined;
}

/**
 * Creates the adapter of one OpenAI-compatible provider; `apiKey` undefined means a keyless upstream, unless
 * `bearer` mints its tokens.
 */
export function createOpenAICompatibleAdapter(
  config: ProviderConfig,
  apiKey: string | undefined,
  limits?: StreamLimits,
  bearer?: BearerSource,
): ProviderAdapter {
  const setup: AdapterSetup = {
    url: `${config.baseUrl}/chat/completions`,
    headers: buildStaticHeaders(config, apiKey),
    apiKey,
    streamOptions: config.streamOptions,
    quirks: resolveQuirks(config.quirks),
    mapError: createOpenAICompatibleErrorMapper(apiKey),
    maxSseEventBytes: limits?.maxSseEventBytes,
    bearer,
  };
  const embeddings = embeddingsSetup(config, setup.headers, apiKey, setup.mapError, bearer);
  return {
    name: config.name,
    type: "openai",
    stream: (request, context) => new UnbatchedChunks(streamBatches(setup, request, context)),
    streamBatches: (request, context) => streamBatches(setup, request, context),
    embed: (request, context) => embedOpenAICompatible(embeddings, request, context),
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

/**
 * Yields the chunks of each network read together. A whole answer is asked for when the caller only wants one
 * and no quirk forbids it (DashScope's thinking models refuse non-streaming calls); the upstream may still
 * answer either way, and the content type decides how the body is read. The request is let go once it is sent
 * (src/core/start-on-first-read.ts).
 */
function streamBatches(
  setup: AdapterSetup,
  request: ChatRequest,
  context: CallContext,
): AsyncIterableIterator<readonly ChatChunk[]> {
  return startOnFirstRead(async () => {
    const stream = context.wholeAnswer !== true || setup.quirks.requiresStreaming;
    const body = toOpenAICompatibleRequest(request, {
      model: context.upstreamModel,
      stream,
      streamOptions: setup.streamOptions,
      quirks: setup.quirks,
    });
    const headers = { ...setup.headers, "x-request-id": context.requestId };
    const text = JSON.stringify(body);
    const response = await postWithKeyOrBearer(
      context,
      setup.url,
      headers,
      text,
      setup.mapError,
      setup.bearer,
    );
    // Awaited: returning the promise from an async function would cost two more microtask turns.
    return await readResponse(response, setup, context);
  });
}

/** The body as batches: one for a JSON completion, one per network read for SSE. */
async function readResponse(
  response: UpstreamResponse,
  setup: AdapterSetup,
  context: CallContext,
): Promise<AsyncIterable<readonly ChatChunk[]>> {
  const options: OpenAICompatibleReaderOptions = {
    quirks: setup.quirks,
    apiKey: setup.apiKey,
    generateId: context.generateId,
    log: context.log,
  };
  const signal = context.signal;
  if (isJsonResponse(response)) {
    return singleBatch(readOpenAICompatibleCompletion(await readText(response, signal), options));
  }
  return new SseChunkBatches(
    response.body[Symbol.asyncIterator](),
    new OpenAICompatibleStreamReader(options),
    (error) => bodyFailure(error, signal),
    setup.maxSseEventBytes,
  );
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

/**
 * Turns body read errors into ProxyError: our abort stays `cancelled`, the body's own verdict (an answer over
 * proxy.max_response_bytes) is kept, anything else broke the connection.
 */
function bodyFailure(error: unknown, signal: AbortSignal): ProxyError {
  if (signal.aborted) return transportFailure(error, signal);
  if (error instanceof ProxyError) return error;
  return new ProxyError("upstream_unavailable", "The connection to the upstream broke mid-response.", {
    cause: error,
  });
}
