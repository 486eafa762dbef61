/**
 * A Responses request → the canonical ChatRequest. `instructions` and system/developer messages become system
 * turns; `function_call` items join the assistant turn they follow (the upstream gets its own call ids back:
 * a call's `call_id` is the id the upstream gave it); `function_call_output` items become tool turns; reasoning
 * items ride on the next assistant turn as its reasoning, for vendors that want it back, and their
 * `encrypted_content`, when it is the gateway's sealed carrier, as that turn's reasoning state (issue 24). The
 * gateway keeps no state, so `previous_response_id` and `conversation` are refused with a message saying to
 * resend the history.
 */
import type { z } from "zod";
import { ProxyError } from "../core/errors.ts";
import type { ReasoningSeal } from "../core/reasoning-seal.ts";
import type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  JsonObject,
  ReasoningState,
  ResponseFormat,
  ToolCall,
} from "../core/types.ts";
import { invalidRequest } from "../edge/openai-errors.ts";
import type { CarrierReader, RequestCarriers } from "../edge/reasoning-carrier.ts";
import { requestModel } from "../edge/request-model.ts";
import {
  type ContentPartBody,
  customToolCallItemSchema,
  functionCallItemSchema,
  type InputItem,
  messageItemSchema,
  type ResponsesRequestBody,
  reasoningItemSchema,
  responsesRequestSchema,
  toolOutputItemSchema,
} from "./request-schema.ts";
import { planTools, type ToolPlan, toCanonicalToolChoice, upstreamToolName } from "./tools.ts";

/** A decoded request, whether the client wants SSE, and what the answer needs to map back. */
export interface DecodedResponsesRequest {
  readonly request: ChatRequest;
  readonly stream: boolean;
  /** Kept apart from the request: the answer (or the stream) keeps it, not the prompt. */
  readonly answer: AnswerPlan;
}

/** What the answer needs from the request to map back. */
export interface AnswerPlan {
  readonly tools: ToolPlan;
  /** The request fields a Response object echoes back. */
  readonly echo: ResponseEcho;
  /** Set when the client asked for `reasoning.encrypted_content`: reasoning items carry the sealed state. */
  readonly seal?: ReasoningSeal;
}

/** What the client names in `include` to get reasoning state back, as OpenAI's stateless clients (Codex) do. */
export const ENCRYPTED_REASONING = "reasoning.encrypted_content";

/** What the answer repeats from the request, as OpenAI's Response object does. */
export interface ResponseEcho {
  readonly instructions: string | null;
  readonly maxOutputTokens: number | null;
  readonly temperature: number | null;
  readonly topP: number | null;
  readonly parallelToolCalls: boolean;
  readonly toolChoice: unknown;
  readonly tools: readonly unknown[];
  readonly text: unknown;
  readonly metadata: Record<string, string>;
  readonly store: boolean;
  readonly user: string | null;
  readonly reasoningEffort: string | null;
}

/**
 * Validates a parsed JSON body and converts it. `defaultModel` fills in a missing or empty model; `carriers`
 * opens the reasoning carriers of the history (none without a seal), and its seal seals the answer's.
 */
export function decodeResponsesRequest(
  body: unknown,
  defaultModel: string | undefined,
  carriers?: RequestCarriers,
): DecodedResponsesRequest {
  refuseState(body);
  const parsed = responsesRequestSchema.safeParse(body);
  if (!parsed.success) throw invalidRequest(parsed.error.issues);
  const data = parsed.data;
  const model = requestModel(data.model, defaultModel);
  if (data.background === true) throw unsupported("background", "Background responses need stored state");
  const tools = planTools(data.tools);
  const messages: ChatMessage[] = [];
  if (typeof data.instructions === "string" && data.instructions !== "") {
    messages.push({ role: "system", content: data.instructions });
  }
  if (typeof data.input === "string") messages.push({ role: "user", content: data.input });
  else appendItems(messages, data.input, carriers?.reader);
  const request: ChatRequest = {
    model,
    messages,
    temperature: data.temperature ?? undefined,
    topP: data.top_p ?? undefined,
    maxCompletionTokens: data.max_output_tokens ?? undefined,
    user: data.user ?? undefined,
    tools: tools.tools,
    toolChoice:
      tools.tools === undefined && typeof data.tool_choice === "string"
        ? undefined
        : toCanonicalToolChoice(data.tool_choice, tools),
    parallelToolCalls: tools.tools === undefined ? undefined : (data.parallel_tool_calls ?? undefined),
    responseFormat: toResponseFormat(data.text?.format),
    reasoningEffort: data.reasoning?.effort ?? undefined,
    includeUsage: true,
  };
  const seal = data.include?.includes(ENCRYPTED_REASONING) ? carriers?.seal : undefined;
  const answer: AnswerPlan =
    seal === undefined ? { tools, echo: echoOf(data) } : { tools, echo: echoOf(data), seal };
  return { request, stream: data.stream === true, answer };
}

function echoOf(data: ResponsesRequestBody): ResponseEcho {
  return {
    instructions: data.instructions ?? null,
    maxOutputTokens: data.max_output_tokens ?? null,
    temperature: data.temperature ?? null,
    topP: data.top_p ?? null,
    parallelToolCalls: data.parallel_tool_calls ?? true,
    toolChoice: data.tool_choice ?? "auto",
    tools: data.tools ?? [],
    text: data.text ?? { format: { type: "text" } },
    metadata: data.metadata ?? {},
    store: data.store ?? false,
    user: data.user ?? null,
    reasoningEffort: data.reasoning?.effort ?? null,
  };
}

/** Stateless: the fields that point at stored state are refused before anything else is checked. */
function refuseState(body: unknown): void {
  if (typeof body !== "object" || body === null) return;
  const fields = body as Record<string, unknown>;
  for (const field of ["previous_response_id", "conversation"]) {
    const value = fields[field];
    if (value !== undefined && value !== null) {
      throw unsupported(field, "This gateway stores no responses or conversations");
    }
  }
}

function unsupported(param: string, why: string): ProxyError {
  return new ProxyError(
    "invalid_request",
    `'${param}' is not supported: ${why}. Resend the whole history in 'input' (with store: false).`,
    { param, code: "unsupported_parameter" },
  );
}

/**
 * Appends the items' turns. An `item_reference` names an item of an earlier response (the AI SDK sends one for
 * its own earlier text when `store` is on); a stateless gateway cannot resolve it, so it is left out: the calls
 * and results around it are resent in full, and only that earlier text is missing from the history.
 */
function appendItems(
  messages: ChatMessage[],
  items: readonly InputItem[],
  carriers: CarrierReader | undefined,
): void {
  let reasoning: string | undefined;
  let state: ReasoningState | undefined;
  /**
   * A carrier not followed by an assistant item is the closing carrier of the turn before it (the gateway writes
   * one after the calls when state came late): it goes on that turn, replacing the earlier one.
   */
  const settleState = (): void => {
    const last = messages.at(-1);
    if (state !== undefined && last?.role === "assistant") {
      messages[messages.length - 1] = { ...last, reasoningState: state };
    }
    state = undefined;
  };
  items.forEach((item, index) => {
    const param = `input[${index}]`;
    const type = item.type ?? "message";
    if (type === "message") {
      const message = parse(messageItemSchema, item, param);
      if (message.role === "assistant") {
        appendAssistant(messages, { text: assistantText(message.content, param), reasoning, state });
        reasoning = undefined;
        state = undefined;
      } else {
        settleState();
        messages.push({ role: message.role, content: userContent(message.content, param) });
      }
    } else if (type === "function_call" || type === "custom_tool_call") {
      appendAssistant(messages, { call: toolCallOf(item, type, param, carriers), reasoning, state });
      reasoning = undefined;
      state = undefined;
    } else if (type === "function_call_output" || type === "custom_tool_call_output") {
      settleState();
      const output = parse(toolOutputItemSchema, item, param);
      const toolCallId = carriers?.vendorId(output.call_id) ?? output.call_id;
      messages.push({ role: "tool", toolCallId, content: outputText(output.output, param) });
    } else if (type === "reasoning") {
      // Its text goes on as the next assistant turn's reasoning; its encrypted content, when the gateway sealed
      // it, as that turn's state (OpenAI's own, which no other vendor could read, does not open and is dropped).
      const parsed = parse(reasoningItemSchema, item, param);
      const text = [...(parsed.summary ?? []), ...(parsed.content ?? [])].map((part) => part.text).join("\n");
      if (text !== "") reasoning = reasoning === undefined ? text : `${reasoning}\n${text}`;
      const opened = parsed.encrypted_content ? carriers?.open(parsed.encrypted_content) : undefined;
      if (opened !== undefined) state = opened;
    } else if (type !== "item_reference") {
      throw new ProxyError(
        "invalid_request",
        `Invalid value for '${param}.type': '${type.slice(0, 64)}' items are not supported here (message, function_call, function_call_output, custom_tool_call, custom_tool_call_output and reasoning are).`,
        { param: `${param}.type` },
      );
    }
  });
  settleState();
}

/** A call item; an id that carries a chat-edge carrier (a history moved between edges) loses it. */
function toolCallOf(
  item: InputItem,
  type: string,
  param: string,
  carriers: CarrierReader | undefined,
): ToolCall {
  if (type === "custom_tool_call") {
    const call = parse(customToolCallItemSchema, item, param);
    const id = carriers?.vendorId(call.call_id) ?? call.call_id;
    return { id, name: call.name, arguments: JSON.stringify({ input: call.input }) };
  }
  const call = parse(functionCallItemSchema, item, param);
  const id = carriers?.vendorId(call.call_id) ?? call.call_id;
  return { id, name: upstreamToolName(call.name, call.namespace), arguments: call.arguments };
}

/** Joins text and calls into one assistant turn, as chat completions carries them. */
function appendAssistant(
  messages: ChatMessage[],
  part: {
    readonly text?: string;
    readonly call?: ToolCall;
    readonly reasoning: string | undefined;
    readonly state: ReasoningState | undefined;
  },
): void {
  const last = messages.at(-1);
  // Text after the calls starts a new turn; calls after text (or more calls) join the same one.
  if (last?.role === "assistant" && (part.call !== undefined || last.toolCalls === undefined)) {
    // A later carrier of the same turn holds the whole state again: it wins.
    const reasoningState = part.state ?? last.reasoningState;
    messages[messages.length - 1] = {
      ...last,
      content: part.text === undefined ? last.content : `${last.content ?? ""}${part.text}`,
      toolCalls: part.call === undefined ? last.toolCalls : [...(last.toolCalls ?? []), part.call],
      reasoningContent: last.reasoningContent ?? part.reasoning,
      ...(reasoningState === undefined ? {} : { reasoningState }),
    };
    return;
  }
  messages.push({
    role: "assistant",
    content: part.text ?? null,
    toolCalls: part.call === undefined ? undefined : [part.call],
    reasoningContent: part.reasoning,
    ...(part.state === undefined ? {} : { reasoningState: part.state }),
  });
}

function userContent(content: string | readonly ContentPartBody[], param: string): string | ContentPart[] {
  if (typeof content === "string") return content;
  // One text part is sent as a string: some OpenAI-compatible vendors take only strings in system turns.
  const only = content.length === 1 ? content[0] : undefined;
  if (only?.type === "input_text")
    return stringField(only as Record<string, unknown>, "text", `${param}.content[0]`);
  return content.map((part, index) => {
    const at = `${param}.content[${index}]`;
    const fields = part as Record<string, unknown>;
    if (part.type === "input_text" || part.type === "output_text")
      return { type: "text", text: stringField(fields, "text", at) };
    if (part.type === "input_image") {
      const url = fields.image_url;
      if (typeof url !== "string" || url === "") {
        throw new ProxyError(
          "invalid_request",
          `'${at}' needs an image_url (a URL or a data: URL); file ids need stored files.`,
          { param: `${at}.image_url` },
        );
      }
      const detail = fields.detail;
      return { type: "image_url", url, detail: detail === "low" || detail === "high" ? detail : undefined };
    }
    throw new ProxyError(
      "invalid_request",
      `Invalid value for '${at}.type': '${part.type.slice(0, 64)}' parts are not supported here (input_text and input_image are).`,
      { param: `${at}.type` },
    );
  });
}

function assistantText(content: string | readonly ContentPartBody[], param: string): string {
  if (typeof content === "string") return content;
  return content
    .map((part, index) => {
      const fields = part as Record<string, unknown>;
      const at = `${param}.content[${index}]`;
      return part.type === "refusal" ? stringField(fields, "refusal", at) : stringField(fields, "text", at);
    })
    .join("");
}

/** A tool's output: a string, or parts whose text is joined (images in tool results are not carried). */
function outputText(output: string | readonly ContentPartBody[], param: string): string {
  if (typeof output === "string") return output;
  return output
    .map((part, index) =>
      part.type === "input_text" || part.type === "output_text"
        ? stringField(part as Record<string, unknown>, "text", `${param}.output[${index}]`)
        : "",
    )
    .join("");
}

function stringField(fields: Record<string, unknown>, name: string, at: string): string {
  const value = fields[name];
  if (typeof value !== "string")
    throw new ProxyError("invalid_request", `'${at}.${name}' must be a string.`, { param: `${at}.${name}` });
  return value;
}

function toResponseFormat(
  format: NonNullable<ResponsesRequestBody["text"]>["format"],
): ResponseFormat | undefined {
  if (format === undefined) return undefined;
  if (format.type !== "json_schema") return { type: format.type };
  return {
    type: "json_schema",
    name: format.name,
    description: format.description ?? undefined,
    schema: format.schema as JsonObject,
    strict: format.strict ?? undefined,
  };
}

function parse<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: z.ZodError } },
  value: unknown,
  param: string,
): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = invalidRequest(parsed.error.issues);
  const located = issue.param === undefined ? param : `${param}.${issue.param}`;
  throw new ProxyError(
    "invalid_request",
    `Invalid value for '${located}': ${parsed.error.issues[0]?.message ?? "invalid"}`,
    { param: located },
  );
}
