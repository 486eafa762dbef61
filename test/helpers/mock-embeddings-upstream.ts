/**
 * Mock embeddings vendors on loopback, in the real wire formats: an OpenAI-compatible one (`POST /v1/embeddings`,
 * answered with its `data` items in reverse order, each with its `index`, so a gateway that ignores `index`
 * scrambles the vectors) and a Gemini one (`POST /v1beta/models/{model}:batchEmbedContents`). Vectors come from
 * `mockVector` (the input's text and the requested dimensions), so tests know what each input must get back.
 * Behaviour by upstream model id:
 * - `status-<code>`: that HTTP status in the vendor's error envelope;
 * - `max-10`: refuses a batch of more than 10 inputs with 400, as DashScope does;
 * - `hang`: never answers; `aborted` counts requests whose connection the gateway closed.
 */
import type { ServerResponse } from "node:http";
import { type MockUpstream, startMockUpstream } from "./mock-server.ts";

/** Dimensions of a mock vector when the request names none. */
export const MOCK_DIMENSIONS = 4;

/** A mock vendor and the requests it saw abandoned. */
export interface MockEmbeddingsUpstream extends MockUpstream {
  readonly aborted: () => number;
}

/** The vector the mocks answer for one input (a text, or token ids joined with commas). */
export function mockVector(input: string | readonly number[], dimensions = MOCK_DIMENSIONS): number[] {
  const text = typeof input === "string" ? input : input.join(",");
  let seed = 7;
  for (const char of text) seed = (seed * 31 + (char.codePointAt(0) ?? 0)) % 1_000_003;
  // Values with more digits than a float32 keeps: the float answer must pass them on as the vendor sent them.
  return Array.from(
    { length: dimensions },
    (_unused, k) => ((seed * (k + 3)) % 20011) / 20011 - 0.5 + 1e-9 * k,
  );
}

/** The OpenAI-compatible mock, base path `/v1`. */
export function startMockOpenAIEmbeddings(): Promise<MockEmbeddingsUpstream> {
  return startWithAborts("/v1", (body, _url, response) => {
    const model = String(body.model ?? "");
    const inputs = Array.isArray(body.input) ? (body.input as (string | number[])[]) : [];
    const status = /^status-(\d{3})$/.exec(model);
    if (status !== null)
      return sendJson(response, Number(status[1]), openAIError(`mock failure ${status[1]}`));
    if (model === "max-10" && inputs.length > 10) {
      return sendJson(response, 400, openAIError("batch size is invalid, it should not be larger than 10."));
    }
    const dimensions = typeof body.dimensions === "number" ? body.dimensions : undefined;
    const data = inputs.map((input, index) => ({
      object: "embedding",
      index,
      embedding: mockVector(input, dimensions),
    }));
    return sendJson(response, 200, {
      object: "list",
      data: data.reverse(),
      model,
      usage: { prompt_tokens: inputs.length * 2, total_tokens: inputs.length * 2 },
    });
  });
}

/** The Gemini mock, base path `/v1beta`. */
export function startMockGeminiEmbeddings(): Promise<MockEmbeddingsUpstream> {
  return startWithAborts("/v1beta", (body, url, response) => {
    const model = /^\/v1beta\/models\/([^/:]+):batchEmbedContents$/.exec(url)?.[1];
    if (model === undefined) return sendJson(response, 404, googleError(404, "NOT_FOUND", `no route ${url}`));
    const status = /^status-(\d{3})$/.exec(model);
    if (status !== null)
      return sendJson(response, Number(status[1]), googleError(Number(status[1]), "INTERNAL", "mock"));
    const requests = Array.isArray(body.requests) ? (body.requests as GeminiEmbedRequest[]) : [];
    if (requests.length > 100) {
      return sendJson(
        response,
        400,
        googleError(400, "INVALID_ARGUMENT", "at most 100 requests can be in one batch"),
      );
    }
    const embeddings = requests.map((request) => ({
      values: mockVector(request.content?.parts?.[0]?.text ?? "", request.outputDimensionality),
    }));
    return sendJson(response, 200, { embeddings });
  });
}

interface GeminiEmbedRequest {
  readonly model?: string;
  readonly content?: { readonly parts?: readonly { readonly text?: string }[] };
  readonly outputDimensionality?: number;
}

type Answer = (body: Record<string, unknown>, url: string, response: ServerResponse) => void;

async function startWithAborts(basePath: string, answer: Answer): Promise<MockEmbeddingsUpstream> {
  let aborted = 0;
  const upstream = await startMockUpstream(basePath, (recorded, _request, response) => {
    if (String(recorded.body.model ?? "") === "hang" || recorded.url.includes("/hang:")) {
      response.on("close", () => {
        if (!response.writableFinished) aborted += 1;
      });
      return;
    }
    answer(recorded.body, recorded.url, response);
  });
  return { ...upstream, aborted: () => aborted };
}

function sendJson(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

function openAIError(message: string): object {
  return { error: { message, type: "invalid_request_error", param: null, code: null } };
}

function googleError(code: number, status: string, message: string): object {
  return { error: { code, message, status } };
}
