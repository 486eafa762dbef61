/**
 * A mock Gemini 3 (`POST /v1beta/models/{model}:streamGenerateContent?alt=sse`, CRLF-framed events, no `[DONE]`)
 * that refuses a tool loop's second step exactly as Gemini 3 does: in the current turn (the model turns after the
 * last user turn that holds text), the first functionCall part of each model turn must carry a `thoughtSignature`
 * (else 400 INVALID_ARGUMENT "Function call is missing a thought_signature…"); a signature must be one this mock
 * issued or Google's documented `skip_thought_signature_validator` sentinel (else 400).
 * Answers: to a request offering tools whose last user turn holds no functionResponse, a thought summary, then one
 * functionCall part (no id, as the Gemini API sends them) signed with a fresh signature; to function responses, a
 * text answer quoting them whose last (empty) text part carries a signature, as Gemini signs its last part. A model
 * id containing `long` issues ~2.5 KB signatures.
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 */
import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";
import { type MockUpstream, startMockUpstream } from "./mock-server.ts";

export const GEMINI_THOUGHT = "Thinking about which tool answers this.";
export const GEMINI_SENTINEL = "skip_thought_signature_validator";
const PATH = /^\/v1beta\/models\/([^/:]+):streamGenerateContent\?alt=sse$/;

interface Part {
  readonly text?: string;
  readonly thoughtSignature?: string;
  readonly functionCall?: { readonly name: string };
  readonly functionResponse?: { readonly name: string; readonly response: unknown };
}

interface Content {
  readonly role: string;
  readonly parts: readonly Part[];
}

interface Body {
  readonly contents?: readonly Content[];
  readonly tools?: readonly { readonly functionDeclarations?: readonly { readonly name: string }[] }[];
}

/** The mock and the signatures it issued. */
export interface ThinkingGeminiMock extends MockUpstream {
  readonly signatures: ReadonlySet<string>;
}

export async function startThinkingGeminiMock(): Promise<ThinkingGeminiMock> {
  const signatures = new Set<string>();
  const mock = await startMockUpstream("/v1beta", (recorded, request, response) => {
    const model = PATH.exec(request.url ?? "")?.[1] ?? "";
    const body = recorded.body as Body;
    const refusal = model.startsWith("gemini-3") ? checkSignatures(body, signatures) : undefined;
    if (refusal !== undefined) {
      response.writeHead(400, { "content-type": "application/json; charset=UTF-8" });
      response.end(JSON.stringify({ error: { code: 400, message: refusal, status: "INVALID_ARGUMENT" } }));
      return;
    }
    answer(body, response, signatures, model.includes("long") ? 40 : 1);
  });
  return { ...mock, signatures };
}

function checkSignatures(body: Body, signatures: ReadonlySet<string>): string | undefined {
  const contents = body.contents ?? [];
  const turnStart = contents.findLastIndex(
    (content) => content.role === "user" && content.parts.some((part) => part.text !== undefined),
  );
  for (const [position, content] of contents.entries()) {
    if (content.role !== "model") continue;
    for (const part of content.parts) {
      const signature = part.thoughtSignature;
      if (signature !== undefined && signature !== GEMINI_SENTINEL && !signatures.has(signature)) {
        return `Corrupted thought signature in content ${position}.`;
      }
    }
    const firstCall = content.parts.findIndex((part) => part.functionCall !== undefined);
    if (position > turnStart && firstCall >= 0 && content.parts[firstCall]?.thoughtSignature === undefined) {
      const name = content.parts[firstCall]?.functionCall?.name ?? "";
      return (
        "Function call is missing a thought_signature in functionCall parts. This is required for tools to work " +
        `correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${name}\` , position ${position + 1}. ` +
        "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
      );
    }
  }
  return undefined;
}

/** `repeat` lengthens signatures (real ones grow with the thinking: a `…long…` model makes ~2.5 KB ones). */
function answer(body: Body, response: ServerResponse, signatures: Set<string>, repeat: number): void {
  response.writeHead(200, { "content-type": "text/event-stream" });
  const sign = (): string => {
    const signature = `Cq${createHash("sha384").update(`sig${signatures.size}`).digest("base64").repeat(repeat)}`;
    signatures.add(signature);
    return signature;
  };
  const send = (parts: readonly object[], finish?: string): void => {
    const candidate =
      finish === undefined
        ? { content: { role: "model", parts } }
        : { content: { role: "model", parts }, finishReason: finish };
    const event = {
      candidates: [{ ...candidate, index: 0 }],
      usageMetadata: {
        promptTokenCount: 30,
        candidatesTokenCount: 10,
        thoughtsTokenCount: 6,
        totalTokenCount: 46,
      },
      modelVersion: "gemini-3-mock",
      responseId: "mockThinking01",
    };
    response.write(`data: ${JSON.stringify(event)}\r\n\r\n`);
  };
  const last = body.contents?.at(-1)?.parts ?? [];
  const results = last.filter((part) => part.functionResponse !== undefined);
  const tool = body.tools?.[0]?.functionDeclarations?.[0]?.name;
  if (results.length === 0 && tool !== undefined) {
    send([{ text: GEMINI_THOUGHT, thought: true }]);
    send([{ functionCall: { name: tool, args: { city: "Paris" } }, thoughtSignature: sign() }], "STOP");
  } else {
    const quoted = results.map((part) => JSON.stringify(part.functionResponse?.response)).join(" | ");
    send([{ text: `Tool results: ${quoted}` }]);
    send([{ text: "", thoughtSignature: sign() }], "STOP");
  }
  response.end();
}
