/**
 * The Gemini adapter (`type: gemini`): Google's native Generative Language API, streamed as SSE.
 * The key travels in the `x-goog-api-key` header, never in the URL (`?key=` would end up in access logs).
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 * @see https://ai.google.dev/gemini-api/docs/api-key
 */
import type { ProviderConfig } from "../../config/config.ts";
import { startOnFirstRead } from "../../core/start-on-first-read.ts";
import type { ChatChunk, ChatRequest } from "../../core/types.ts";
import { postUpstream, transportFailure } from "../http.ts";
import { parseSseStream } from "../sse.ts";
import type { CallContext, ProviderAdapter, StreamLimits, UpstreamResponse } from "../types.ts";
import { embedGemini } from "./embeddings.ts";
import { createGeminiErrorMapper } from "./error-map.ts";
import { convertGeminiStream } from "./from-stream.ts";
import { convertToGeminiRequest } from "./to-request.ts";

/** Headers the adapter sets itself; a configured header of the same name (any case) is dropped. */
const OWN_HEADERS: ReadonlySet<string> = new Set(["content-type", "x-goog-api-key", "x-request-id"]);

/** Creates the adapter; `apiKey` is resolved by the registry (undefined: no key header is sent). */
export function createGeminiAdapter(
  config: ProviderConfig,
  apiKey: string | undefined,
  limits?: StreamLimits,
): ProviderAdapter {
  // Precomputed once per (re)load. Without a key, a configured x-goog-api-key (e.g. for a relay) is kept.
  const configured = Object.entries(config.headers).filter(
    ([name]) =>
      !OWN_HEADERS.has(name.toLowerCase()) ||
      (apiKey === undefined && name.toLowerCase() === "x-goog-api-key"),
  );
  const setup: GeminiCallSetup = {
    baseUrl: config.baseUrl,
    headers: {
      ...Object.fromEntries(configured),
      "content-type": "application/json",
      ...(apiKey === undefined ? {} : { "x-goog-api-key": apiKey }),
    },
    apiKey,
    mapError: createGeminiErrorMapper(apiKey),
    maxSseEventBytes: limits?.maxSseEventBytes,
  };
  const embeddings = {
    baseUrl: setup.baseUrl,
    headers: setup.headers,
    mapError: setup.mapError,
    maxBatch: config.maxEmbeddingBatch,
  };
  return {
    name: config.name,
    type: "gemini",
    stream: (request, context) => streamGemini(request, context, setup),
    embed: (request, context) => embedGemini(embeddings, request, context),
  };
}

interface GeminiCallSetup {
  readonly baseUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly apiKey: string | undefined;
  readonly mapError: ReturnType<typeof createGeminiErrorMapper>;
  readonly maxSseEventBytes: number | undefined;
}

/** The request is let go once it is sent (src/core/start-on-first-read.ts). */
function streamGemini(
  request: ChatRequest,
  context: CallContext,
  setup: GeminiCallSetup,
): AsyncIterableIterator<ChatChunk> {
  return startOnFirstRead(async () => {
    const body = JSON.stringify(convertToGeminiRequest(request, context.upstreamModel));
    const url = geminiStreamUrl(setup.baseUrl, context.upstreamModel);
    const headers = { ...setup.headers, "x-request-id": context.requestId };
    const response = await postUpstream(context, url, headers, body, setup.mapError);
    return readGeminiBody(response, request.n ?? 1, context, setup);
  });
}

async function* readGeminiBody(
  response: UpstreamResponse,
  choiceCount: number,
  context: CallContext,
  setup: GeminiCallSetup,
): AsyncGenerator<ChatChunk> {
  try {
    yield* convertGeminiStream(parseSseStream(response.body, setup.maxSseEventBytes), {
      choiceCount,
      generateId: context.generateId,
      apiKey: setup.apiKey,
    });
  } catch (error) {
    // A reset connection or our own abort while reading the body; protocol errors pass through unchanged.
    throw transportFailure(error, context.signal);
  }
}

/**
 * `{base}/models/{model}:streamGenerateContent?alt=sse` (without `alt=sse` the body is a JSON array, not SSE).
 * A model id that already names its collection (`models/…`, `tunedModels/…`) is used as the path as is.
 */
export function geminiStreamUrl(baseUrl: string, upstreamModel: string): string {
  const path = upstreamModel.includes("/") ? upstreamModel : `models/${upstreamModel}`;
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  return `${baseUrl}/${encoded}:streamGenerateContent?alt=sse`;
}
