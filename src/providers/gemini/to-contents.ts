/**
 * Canonical messages → Gemini `systemInstruction` + `contents`. Gemini has only the roles `user` and `model`:
 * system/developer text is hoisted into `systemInstruction` (wherever it appears), tool results become
 * `functionResponse` parts of a user turn, and consecutive turns of one role are merged (Gemini otherwise may
 * answer "Please ensure that multiturn requests alternate between user and model").
 * @see https://ai.google.dev/api/generate-content#request-body
 * @see https://ai.google.dev/gemini-api/docs/function-calling
 */
import { ProxyError } from "../../core/errors.ts";
import type { ChatMessage, ContentPart, JsonObject, JsonValue, ToolCall } from "../../core/types.ts";

/** The prompt half of a generateContent body. */
export interface GeminiPrompt {
  readonly systemInstruction?: JsonObject;
  readonly contents: JsonObject[];
}

/** Model-dependent choices of the conversion. */
export interface GeminiPromptOptions {
  /**
   * Gemini 3 rejects replayed function calls without their `thoughtSignature`. The real one is sent when the
   * client returned the gateway's carrier; otherwise (a client that drops it, a turn another model made) Google
   * documents this sentinel for exactly that case (sent on the first call of a turn, as Gemini itself signs only
   * the first of parallel calls).
   * @see https://ai.google.dev/gemini-api/docs/thought-signatures
   */
  readonly skipThoughtSignatureValidator: boolean;
  /** Gemma models have no system instruction: its text is prepended to the first user turn instead. */
  readonly systemAsUserText: boolean;
}

/** Google's documented sentinel for function calls whose signature is unknown. */
export const SKIP_THOUGHT_SIGNATURE_VALIDATOR = "skip_thought_signature_validator";

type Turn = { readonly role: "user" | "model"; readonly parts: JsonObject[] };

/** Converts the conversation; throws ProxyError(invalid_request) for messages Gemini cannot represent. */
export function convertToGeminiPrompt(
  messages: readonly ChatMessage[],
  options: GeminiPromptOptions,
): GeminiPrompt {
  const systemTexts: string[] = [];
  const turns: Turn[] = [];
  // Gemini's functionResponse needs the function name; OpenAI's tool message only has the call id.
  const toolNames = new Map<string, string>();
  for (const [position, message] of messages.entries()) {
    switch (message.role) {
      case "system":
      case "developer": {
        const text = textOf(message.content, position);
        if (text !== "") systemTexts.push(text);
        break;
      }
      case "user":
        appendTurn(turns, "user", convertUserParts(message.content, position));
        break;
      case "assistant":
        appendTurn(turns, "model", convertAssistantParts(message, position, toolNames, options));
        break;
      case "tool":
        appendTurn(turns, "user", [convertToolResult(message, position, toolNames)]);
        break;
    }
  }
  const inlineSystem = options.systemAsUserText && systemTexts.length > 0;
  if (inlineSystem) prependSystemText(turns, systemTexts.join("\n\n"));
  const contents = turns.map((turn): JsonObject => ({ role: turn.role, parts: turn.parts }));
  if (systemTexts.length === 0 || inlineSystem) return { contents };
  return { systemInstruction: { parts: systemTexts.map((text) => ({ text })) }, contents };
}

function appendTurn(turns: Turn[], role: Turn["role"], parts: JsonObject[]): void {
  if (parts.length === 0) return;
  const last = turns.at(-1);
  if (last?.role === role) last.parts.push(...parts);
  else turns.push({ role, parts });
}

function prependSystemText(turns: Turn[], text: string): void {
  const first = turns[0];
  if (first?.role === "user") first.parts.unshift({ text: `${text}\n\n` });
  else turns.unshift({ role: "user", parts: [{ text }] });
}

function convertUserParts(content: ChatMessage["content"], position: number): JsonObject[] {
  if (content === null) return [];
  if (typeof content === "string") return content === "" ? [] : [{ text: content }];
  return content.flatMap((part, index): JsonObject[] => {
    if (part.type === "text") return part.text === "" ? [] : [{ text: part.text }];
    return [convertImagePart(part.url, `messages[${position}].content[${index}].image_url.url`)];
  });
}

function convertAssistantParts(
  message: ChatMessage,
  position: number,
  toolNames: Map<string, string>,
  options: GeminiPromptOptions,
): JsonObject[] {
  const parts: JsonObject[] = [];
  // The turn's reasoning state reaches here only when this provider and model produced it (src/core/attempt.ts).
  const state = message.reasoningState;
  const text = textOf(message.content, position);
  if (text !== "") {
    parts.push(
      state?.textSignature === undefined ? { text } : { text, thoughtSignature: state.textSignature },
    );
  }
  for (const [index, call] of (message.toolCalls ?? []).entries()) {
    toolNames.set(call.id, call.name);
    const args = parseArguments(call, `messages[${position}].tool_calls[${index}].function.arguments`);
    const part: JsonObject = { functionCall: { id: call.id, name: call.name, args } };
    const signature = state?.toolSignatures?.[call.id];
    if (signature !== undefined) part.thoughtSignature = signature;
    else if (index === 0 && options.skipThoughtSignatureValidator) {
      part.thoughtSignature = SKIP_THOUGHT_SIGNATURE_VALIDATOR;
    }
    parts.push(part);
  }
  return parts;
}

/** Gemini wants `args` as an object; OpenAI sends a JSON string ("" from some clients means no arguments). */
function parseArguments(call: ToolCall, param: string): JsonObject {
  if (call.arguments.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(call.arguments);
  } catch {
    throw new ProxyError("invalid_request", `Tool call '${call.id}' has arguments that are not valid JSON.`, {
      param,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProxyError("invalid_request", `Tool call '${call.id}' must have a JSON object as arguments.`, {
      param,
    });
  }
  return value as JsonObject;
}

function convertToolResult(
  message: ChatMessage,
  position: number,
  toolNames: ReadonlyMap<string, string>,
): JsonObject {
  const callId = message.toolCallId;
  const name = (callId === undefined ? undefined : toolNames.get(callId)) ?? message.name;
  if (name === undefined) {
    throw new ProxyError(
      "invalid_request",
      `Tool message ${position} answers tool_call_id '${callId ?? ""}', which no earlier assistant message made.`,
      { param: `messages[${position}].tool_call_id` },
    );
  }
  const response = toResponseObject(textOf(message.content, position));
  const functionResponse: JsonObject =
    callId === undefined ? { name, response } : { id: callId, name, response };
  return { functionResponse };
}

/**
 * `functionResponse.response` must be a JSON object: a JSON object result is sent as is, any other JSON
 * value or plain text is wrapped as `{result: …}`.
 */
function toResponseObject(text: string): JsonObject {
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch {
    return { result: text };
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  return { result: value };
}

/** Text of a message; images are only meaningful in user messages. */
function textOf(content: ChatMessage["content"], position: number): string {
  if (content === null) return "";
  if (typeof content === "string") return content;
  return content.map((part, index) => textOfPart(part, position, index)).join("");
}

function textOfPart(part: ContentPart, position: number, index: number): string {
  if (part.type === "text") return part.text;
  throw new ProxyError(
    "invalid_request",
    `Images are only supported in user messages (message ${position}).`,
    {
      param: `messages[${position}].content[${index}]`,
    },
  );
}

/** `data:<mime>;base64,<data>` (any parameters before `;base64` are ignored). */
const DATA_URL_PREFIX = /^data:([\w.+-]+\/[\w.+-]+)(?:;[^,;]+)*?;base64,/;

/** Extensions we can name a MIME type for; anything else is assumed to be JPEG (Gemini needs some type). */
const MIME_BY_EXTENSION: Readonly<Record<string, string>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  heic: "image/heic",
  heif: "image/heif",
  pdf: "application/pdf",
};

/**
 * Data URLs become `inlineData`; http(s) and gs:// URLs become `fileData` with a MIME type guessed from the
 * extension. Gemini fetches only some URLs itself (Files API URIs, YouTube, and public URLs on newer models).
 * @see https://ai.google.dev/gemini-api/docs/file-input-methods
 */
function convertImagePart(url: string, param: string): JsonObject {
  const dataUrl = DATA_URL_PREFIX.exec(url);
  if (dataUrl?.[1] !== undefined) {
    return { inlineData: { mimeType: dataUrl[1], data: url.slice(dataUrl[0].length) } };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ProxyError(
      "invalid_request",
      "image_url must be a base64 data URL or an http(s) or gs:// URL.",
      {
        param,
      },
    );
  }
  if (!["http:", "https:", "gs:"].includes(parsed.protocol)) {
    throw new ProxyError(
      "invalid_request",
      "image_url must be a base64 data URL or an http(s) or gs:// URL.",
      {
        param,
      },
    );
  }
  const extension = /\.([a-z0-9]+)$/i.exec(parsed.pathname)?.[1]?.toLowerCase() ?? "";
  return { fileData: { mimeType: MIME_BY_EXTENSION[extension] ?? "image/jpeg", fileUri: url } };
}
