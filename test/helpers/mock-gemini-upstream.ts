/**
 * A mock Gemini (Generative Language API) on loopback speaking the real wire format:
 * `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` answered with `data: {GenerateContentResponse}`
 * events framed by CRLF CRLF and no `[DONE]` (the stream just ends), and Google's error envelope
 * `{error:{code,message,status,details}}`. Behaviour by model id (from the URL path):
 * - `status-<code>`: that HTTP status with the matching google.rpc status (429 carries RetryInfo "0s"; the
 *   401 message quotes the key, as a hostile relay might, to check the gateway scrubs it);
 * - `midstream-error`: a text chunk, then an error envelope event (503 UNAVAILABLE) after the 200;
 * - anything else: when the last user turn holds functionResponse parts, a text answer quoting them; when
 *   tools are offered, two functionCall parts (whole args, no id, as the Gemini API sends them) in two chunks,
 *   then an empty text part with finishReason STOP; otherwise the last user text echoed in small pieces.
 * Every chunk repeats the cumulative usageMetadata. A wrong `x-goog-api-key` gets Google's 400 API_KEY_INVALID.
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 * @see https://ai.google.dev/gemini-api/docs/troubleshooting
 */
import type { ServerResponse } from "node:http";
import { type MockUpstream, startMockUpstream } from "./mock-server.ts";

/** The final usageMetadata of every answer (thoughts are excluded from candidatesTokenCount, as on the API). */
export const GEMINI_MOCK_USAGE = {
  promptTokenCount: 30,
  candidatesTokenCount: 12,
  thoughtsTokenCount: 4,
  cachedContentTokenCount: 8,
  totalTokenCount: 46,
} as const;

/** The args of the two function calls, in order. */
export const GEMINI_MOCK_CALL_ARGS = [
  { city: "Paris", unit: "celsius" },
  { timezone: "Europe/Paris" },
] as const;

/** The thoughtSignature of the first function call (as recorded, only the first of parallel calls has one). */
export const GEMINI_MOCK_THOUGHT_SIGNATURE = "CiQBvj72+3Vd1yKQZGxvYmFsLXNpZw==";

/** Text of the mid-stream-error answer before the error event. */
export const GEMINI_MOCK_PARTIAL_TEXT = "Let me think about";

const MODEL_VERSION = "gemini-mock-001";
const RESPONSE_ID = "mockResponseId01";
const PATH = /^\/v1beta\/models\/([^/:]+):streamGenerateContent\?alt=sse$/;

/** google.rpc status names by HTTP status. */
const GOOGLE_STATUS_BY_HTTP: Readonly<Record<number, string>> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

interface Part {
  readonly text?: string;
  readonly functionCall?: { name: string };
  readonly functionResponse?: { name: string; response?: Record<string, unknown> };
}

interface GenerateBody {
  readonly contents?: readonly { role?: string; parts?: readonly Part[] }[];
  readonly tools?: readonly { functionDeclarations?: readonly { name: string }[] }[];
}

/** Writes one chunk holding the parts of candidate 0; a finishReason makes it the last. */
type Send = (parts: readonly object[], finishReason?: string) => void;

/** Starts the mock on 127.0.0.1 (port from the OS). `apiKey`: the only x-goog-api-key it accepts. */
export function startMockGeminiUpstream(apiKey: string): Promise<MockUpstream> {
  return startMockUpstream("/v1beta", ({ body }, request, response) => {
    const path = PATH.exec(request.url ?? "");
    if (request.method !== "POST" || path?.[1] === undefined) {
      return fail(response, 404, `Method not found: ${request.method} ${request.url}`);
    }
    if (request.headers["x-goog-api-key"] !== apiKey) {
      return fail(response, 400, "API key not valid. Please pass a valid API key.", [
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" },
      ]);
    }
    const model = decodeURIComponent(path[1]);
    const problem = validate(body as GenerateBody);
    if (problem !== undefined) return fail(response, 400, problem);
    const status = /^status-(\d{3})$/.exec(model);
    if (status === null) return answer(body as GenerateBody, model, response);
    const code = Number(status[1]);
    const message =
      code === 401 ? `Request had invalid authentication credentials: ${apiKey}` : `mock failure ${code}`;
    fail(response, code, message, code === 429 ? RATE_LIMIT_DETAILS : []);
  });
}

/** What a per-minute rate limit carries: the quota and a retry delay (in the body, not a header). */
const RATE_LIMIT_DETAILS = [
  {
    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
    violations: [{ quotaId: "GenerateRequestsPerMinutePerProjectPerModel-FreeTier" }],
  },
  { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "0s" },
];

function fail(
  response: ServerResponse,
  code: number,
  message: string,
  details: readonly object[] = [],
): void {
  const status = GOOGLE_STATUS_BY_HTTP[code] ?? "UNKNOWN";
  response.writeHead(code, { "content-type": "application/json; charset=UTF-8" });
  response.end(
    JSON.stringify({ error: { code, message, status, ...(details.length > 0 ? { details } : {}) } }),
  );
}

/** The checks Gemini makes that a translation bug would trip (answered 400 INVALID_ARGUMENT). */
function validate(body: GenerateBody): string | undefined {
  const contents = body.contents ?? [];
  if (contents.length === 0) return "* GenerateContentRequest.contents: contents is not specified";
  for (const [index, content] of contents.entries()) {
    if (content.role !== "user" && content.role !== "model") {
      return `* GenerateContentRequest.contents[${index}].role: must be user or model`;
    }
    if ((content.parts ?? []).length === 0) {
      return `* GenerateContentRequest.contents[${index}].parts: contents.parts must not be empty.`;
    }
    const previous = contents[index - 1];
    if (previous?.role === content.role) {
      return "Please ensure that multiturn requests alternate between user and model.";
    }
  }
  return undefined;
}

function answer(body: GenerateBody, model: string, response: ServerResponse): void {
  response.writeHead(200, { "content-type": "text/event-stream", "x-mock-model": model });
  let candidatesTokens = 0;
  const send: Send = (parts, finishReason) => {
    candidatesTokens = Math.min(candidatesTokens + 3, GEMINI_MOCK_USAGE.candidatesTokenCount);
    const event = {
      candidates: [
        {
          content: { parts, role: "model" },
          index: 0,
          ...(finishReason === undefined ? {} : { finishReason }),
        },
      ],
      usageMetadata: finishReason === undefined ? partialUsage(candidatesTokens) : GEMINI_MOCK_USAGE,
      modelVersion: MODEL_VERSION,
      responseId: RESPONSE_ID,
    };
    response.write(`data: ${JSON.stringify(event)}\r\n\r\n`);
  };
  if (model === "midstream-error") {
    send([{ text: GEMINI_MOCK_PARTIAL_TEXT }]);
    const error = {
      code: 503,
      message: "The model is overloaded. Please try again later.",
      status: "UNAVAILABLE",
    };
    response.end(`data: ${JSON.stringify({ error })}\r\n\r\n`);
    return;
  }
  const contents = body.contents ?? [];
  const lastParts = contents.at(-1)?.parts ?? [];
  const results = lastParts.flatMap((part) => (part.functionResponse ? [part.functionResponse] : []));
  const declarations = (body.tools ?? []).flatMap((tool) => tool.functionDeclarations ?? []);
  if (results.length > 0) {
    sendText(send, `Tool results: ${results.map((result) => describeResponse(result.response)).join(" | ")}`);
  } else if (declarations.length > 0) {
    for (const [position, declaration] of declarations.slice(0, 2).entries()) {
      const args = GEMINI_MOCK_CALL_ARGS[position];
      // As recorded: only the first of parallel calls carries a thoughtSignature.
      const signature = position === 0 ? { thoughtSignature: GEMINI_MOCK_THOUGHT_SIGNATURE } : {};
      send([{ functionCall: { name: declaration.name, args }, ...signature }]);
    }
    send([{ text: "" }], "STOP");
  } else {
    sendText(send, lastParts.map((part) => part.text ?? "").join(""));
  }
  response.end();
}

/** The text in 4-character chunks, the last one carrying finishReason STOP. */
function sendText(send: Send, text: string): void {
  const pieces = split(text, 4);
  if (pieces.length === 0) pieces.push("");
  for (const [position, piece] of pieces.entries()) {
    send([{ text: piece }], position === pieces.length - 1 ? "STOP" : undefined);
  }
}

function partialUsage(candidatesTokens: number): object {
  const { promptTokenCount, cachedContentTokenCount } = GEMINI_MOCK_USAGE;
  const totalTokenCount = promptTokenCount + candidatesTokens;
  return {
    promptTokenCount,
    candidatesTokenCount: candidatesTokens,
    cachedContentTokenCount,
    totalTokenCount,
  };
}

/** A functionResponse's payload as text: the `result` string the gateway wraps plain text in, else JSON. */
function describeResponse(response: Record<string, unknown> | undefined): string {
  return typeof response?.result === "string" ? response.result : JSON.stringify(response ?? {});
}

function split(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}
