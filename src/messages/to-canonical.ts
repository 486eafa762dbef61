/**
 * Anthropic Messages request → canonical ChatRequest, for upstreams of every format, plus the original body as the
 * request's `native` value for an Anthropic upstream (which then receives it unchanged but for the model id).
 * Translation for the others: `system` (string or blocks, and `role: "system"` messages at their place) → system
 * messages; text and images → parts; `tool_use` → tool calls and `tool_result` → tool messages (ids mapped back by
 * ./tool-ids.ts); `thinking` → the assistant's reasoning, its signature dropped (no other vendor could check it)
 * unless it is the gateway's sealed carrier (issue 24), which opens onto the turn's reasoning state and is left
 * out of the native body (Anthropic signed none of it); `redacted_thinking`, `cache_control`, the billing-header
 * system block and blocks of other types are dropped; `thinking` and `output_config.effort` → reasoning effort;
 * `top_k` is dropped.
 */
import type { z } from "zod";
import { ProxyError } from "../core/errors.ts";
import { isJsonObject } from "../core/json-object.ts";
import type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  JsonObject,
  JsonValue,
  ReasoningEffort,
  ReasoningState,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from "../core/types.ts";
import type { RequestCarriers } from "../edge/reasoning-carrier.ts";
import {
  type ContentBlockBody,
  type CountTokensRequestBody,
  countTokensRequestSchema,
  type MessageBody,
  type MessagesRequestBody,
  messagesRequestSchema,
} from "./request-schema.ts";
import { fromToolUseId } from "./tool-ids.ts";

/** A decoded request and whether the client wants SSE. */
export interface DecodedMessages {
  readonly request: ChatRequest;
  readonly stream: boolean;
}

/** Claude Code's first system block: an Anthropic billing tag, meaningless (and cache-breaking) elsewhere. */
const BILLING_HEADER = "x-anthropic-billing-header:";

/**
 * Validates a parsed JSON body and converts it; `headers` are the request's (for `anthropic-beta`), `carriers`
 * opens the sealed signatures of the gateway's thinking blocks (none without a seal).
 */
export function decodeMessages(
  body: unknown,
  headers: Readonly<Record<string, unknown>>,
  carriers?: RequestCarriers,
): DecodedMessages {
  const parsed = messagesRequestSchema.safeParse(body);
  if (!parsed.success) throw invalidRequest(parsed.error.issues);
  return {
    request: toCanonical(parsed.data, body as JsonObject, headers, carriers),
    stream: parsed.data.stream === true,
  };
}

/** A count_tokens body: the canonical request (for the core's routing and Anthropic's count) and the body. */
export function decodeCountTokens(
  body: unknown,
  headers: Readonly<Record<string, unknown>>,
  carriers?: RequestCarriers,
): { readonly request: ChatRequest; readonly body: CountTokensRequestBody } {
  const parsed = countTokensRequestSchema.safeParse(body);
  if (!parsed.success) throw invalidRequest(parsed.error.issues);
  // max_tokens means nothing to a count; the canonical request needs one.
  const request = toCanonical(
    { ...parsed.data, max_tokens: parsed.data.max_tokens ?? 1 },
    body as JsonObject,
    headers,
    carriers,
  );
  return { request, body: parsed.data };
}

/** Converts a validated body; `original` is the body as the client sent it. */
export function toCanonical(
  request: MessagesRequestBody,
  original: JsonObject,
  headers: Readonly<Record<string, unknown>>,
  carriers?: RequestCarriers,
): ChatRequest {
  const beta = headers["anthropic-beta"];
  const tools = request.tools?.flatMap(toCanonicalTool);
  const isCarrier = carriers === undefined ? undefined : (text: string) => carriers.seal.looksSealed(text);
  return {
    model: request.model,
    messages: [
      ...systemMessages(request.system),
      ...request.messages.flatMap((message) => toCanonicalMessages(message, carriers)),
    ],
    maxTokens: request.max_tokens,
    temperature: request.temperature,
    topP: request.top_p,
    stop: request.stop_sequences?.length ? request.stop_sequences : undefined,
    user: request.metadata?.user_id ?? undefined,
    tools: tools?.length ? tools : undefined,
    toolChoice: tools?.length ? toCanonicalToolChoice(request.tool_choice) : undefined,
    parallelToolCalls: request.tool_choice?.disable_parallel_tool_use === true ? false : undefined,
    reasoningEffort: reasoningEffortOf(request),
    includeUsage: true,
    native: {
      format: "anthropic",
      body: isCarrier === undefined ? original : withoutCarriers(original, isCarrier),
      headers: typeof beta === "string" ? { "anthropic-beta": beta } : {},
    },
  };
}

function systemMessages(system: MessagesRequestBody["system"]): ChatMessage[] {
  if (system === undefined) return [];
  const text = typeof system === "string" ? system : joinText(system);
  return text === "" ? [] : [{ role: "system", content: text }];
}

/** Text blocks joined as one prompt, without Claude Code's billing tag. */
function joinText(blocks: readonly { readonly text: string }[]): string {
  return blocks
    .map((block) => block.text)
    .filter((text) => !text.startsWith(BILLING_HEADER))
    .join("\n\n");
}

function toCanonicalMessages(message: MessageBody, carriers: RequestCarriers | undefined): ChatMessage[] {
  const blocks: readonly ContentBlockBody[] =
    typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content;
  switch (message.role) {
    case "system": {
      const text = joinText(
        blocks.flatMap((block) => (block.type === "text" ? [block as { text: string }] : [])),
      );
      return text === "" ? [] : [{ role: "system", content: text }];
    }
    case "assistant":
      return assistantMessages(blocks, carriers);
    case "user":
      return userMessages(blocks);
  }
}

/** Tool results first (each a tool message right after the calls it answers), then the user's own content. */
function userMessages(blocks: readonly ContentBlockBody[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  const parts: ContentPart[] = [];
  for (const block of blocks) {
    if (block.type === "tool_result") {
      const result = block as Extract<ContentBlockBody, { type: "tool_result" }>;
      out.push({
        role: "tool",
        toolCallId: fromToolUseId(result.tool_use_id),
        content: toolResultText(result),
      });
    } else {
      const part = toPart(block);
      if (part !== undefined) parts.push(part);
    }
  }
  if (parts.length > 0) out.push({ role: "user", content: simplify(parts) });
  return out;
}

function toolResultText(block: Extract<ContentBlockBody, { type: "tool_result" }>): string {
  const content = block.content ?? "";
  const text =
    typeof content === "string"
      ? content
      : content
          .flatMap((part) => (part.type === "text" && typeof part.text === "string" ? [part.text] : []))
          .join("\n");
  // Only Anthropic has an error flag on results: the others read it in the text.
  return block.is_error === true ? `Error: ${text}` : text;
}

function toPart(block: ContentBlockBody): ContentPart | undefined {
  if (block.type === "text") return { type: "text", text: (block as { text: string }).text };
  if (block.type !== "image") return undefined;
  const { source } = block as Extract<ContentBlockBody, { type: "image" }>;
  if (source.type === "base64")
    return { type: "image_url", url: `data:${source.media_type};base64,${source.data}` };
  if (source.type === "url") return { type: "image_url", url: source.url };
  throw new ProxyError("invalid_request", "Image blocks with a file source need an Anthropic upstream.", {
    param: "messages",
  });
}

/** A single text part as a plain string, which every vendor takes. */
function simplify(parts: readonly ContentPart[]): string | readonly ContentPart[] {
  return parts.length === 1 && parts[0]?.type === "text" ? parts[0].text : parts;
}

function assistantMessages(
  blocks: readonly ContentBlockBody[],
  carriers: RequestCarriers | undefined,
): ChatMessage[] {
  let text = "";
  let reasoning = "";
  let reasoningState: ReasoningState | undefined;
  const toolCalls: ToolCall[] = [];
  for (const block of blocks) {
    if (block.type === "text") text += (block as { text: string }).text;
    else if (block.type === "thinking") {
      const thinking = block as { thinking: string; signature?: string };
      reasoning += thinking.thinking;
      // Anthropic's own signatures are not carriers: only the gateway's are opened (a later one holds the
      // whole state again, so it wins).
      const signature = thinking.signature;
      if (signature !== undefined && carriers?.seal.looksSealed(signature) === true) {
        reasoningState = carriers.reader.open(signature) ?? reasoningState;
      }
    } else if (block.type === "tool_use") {
      const call = block as Extract<ContentBlockBody, { type: "tool_use" }>;
      toolCalls.push({ id: fromToolUseId(call.id), name: call.name, arguments: JSON.stringify(call.input) });
    }
  }
  if (text === "" && toolCalls.length === 0 && reasoning === "") return [];
  return [
    {
      role: "assistant",
      content: text === "" && toolCalls.length > 0 ? null : text,
      ...(toolCalls.length > 0 ? { toolCalls } : {}),
      ...(reasoning === "" ? {} : { reasoningContent: reasoning }),
      ...(reasoningState === undefined ? {} : { reasoningState }),
    },
  ];
}

/**
 * The client's body without the thinking blocks whose signature is the gateway's carrier: an Anthropic upstream
 * would refuse them (it signed none), and their state is not Anthropic's anyway. The body itself when there are
 * none (the common case: no copy).
 */
function withoutCarriers(original: JsonObject, isCarrier: (text: string) => boolean): JsonObject {
  const isCarrierBlock = (block: JsonValue): boolean =>
    isJsonObject(block) &&
    block.type === "thinking" &&
    typeof block.signature === "string" &&
    isCarrier(block.signature);
  const contentOf = (message: JsonValue): JsonValue[] | undefined =>
    isJsonObject(message) && Array.isArray(message.content) ? message.content : undefined;
  const messages = original.messages;
  if (!Array.isArray(messages) || !messages.some((message) => contentOf(message)?.some(isCarrierBlock))) {
    return original;
  }
  return {
    ...original,
    messages: messages.map((message) => {
      const content = contentOf(message);
      if (content === undefined || !content.some(isCarrierBlock)) return message;
      return { ...(message as JsonObject), content: content.filter((block) => !isCarrierBlock(block)) };
    }),
  };
}

/** Custom tools only: server tools (web search, bash…) run at Anthropic and mean nothing elsewhere. */
function toCanonicalTool(tool: NonNullable<MessagesRequestBody["tools"]>[number]): ToolDefinition[] {
  if (!("input_schema" in tool) || typeof tool.input_schema !== "object") return [];
  const description = typeof tool.description === "string" ? tool.description : undefined;
  return [{ name: tool.name, description, parameters: tool.input_schema as JsonObject }];
}

function toCanonicalToolChoice(choice: MessagesRequestBody["tool_choice"]): ToolChoice | undefined {
  switch (choice?.type) {
    case undefined:
      return undefined;
    case "auto":
      return { type: "auto" };
    case "any":
      return { type: "required" };
    case "none":
      return { type: "none" };
    case "tool":
      return { type: "function", name: choice.name };
  }
}

/** `output_config.effort` as it is; else a thinking budget as the nearest effort (adaptive: medium). */
function reasoningEffortOf(request: MessagesRequestBody): ReasoningEffort | undefined {
  const effort = request.output_config?.effort;
  if (effort !== undefined) return effort;
  const thinking = request.thinking;
  if (thinking === undefined || thinking.type === "disabled") return undefined;
  if (thinking.type === "adaptive") return "medium";
  const budget = thinking.budget_tokens as number;
  if (budget < 2048) return "low";
  return budget < 8192 ? "medium" : "high";
}

/** The first issue as Anthropic words it: `<path>: <message>`. */
function invalidRequest(issues: readonly z.core.$ZodIssue[]): ProxyError {
  const issue = issues[0];
  const path = issue?.path.map(String).join(".") ?? "";
  const message = issue?.message ?? "invalid request";
  return new ProxyError("invalid_request", path === "" ? message : `${path}: ${message}`, { param: path });
}
