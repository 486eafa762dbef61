/**
 * Canonical ChatRequest → Anthropic Messages request body (always streaming).
 * Parameters Anthropic has no equivalent for are either rejected (n > 1) or dropped (seed, penalties): the
 * README provider table lists which.
 * @see https://platform.claude.com/docs/en/api/messages
 */
import { ProxyError } from "../../core/errors.ts";
import { mergeExtraBody } from "../../core/extra-body.ts";
import type {
  ChatRequest,
  JsonObject,
  ReasoningEffort,
  ResponseFormat,
  ToolChoice,
  ToolDefinition,
} from "../../core/types.ts";
import {
  type AnthropicMessage,
  type AnthropicTextBlock,
  convertToAnthropicConversation,
} from "./to-messages.ts";

/** A custom tool. */
export interface AnthropicTool {
  readonly name: string;
  readonly description?: string;
  readonly input_schema: JsonObject;
}

/** Anthropic's tool_choice; `disable_parallel_tool_use` is OpenAI's `parallel_tool_calls: false`. */
export type AnthropicToolChoice =
  | { readonly type: "auto" | "any"; readonly disable_parallel_tool_use?: true }
  | { readonly type: "tool"; readonly name: string; readonly disable_parallel_tool_use?: true }
  | { readonly type: "none" };

/** The body POSTed to `/messages`. The client's extra body is merged on top (src/core/extra-body.ts). */
export interface AnthropicRequestBody {
  readonly model: string;
  readonly max_tokens: number;
  readonly messages: readonly AnthropicMessage[];
  readonly system?: readonly AnthropicTextBlock[];
  readonly stream: true;
  readonly temperature?: number;
  readonly top_p?: number;
  readonly stop_sequences?: readonly string[];
  readonly tools?: readonly AnthropicTool[];
  readonly tool_choice?: AnthropicToolChoice;
  readonly thinking?: { readonly type: "enabled"; readonly budget_tokens: number };
  readonly output_config?: { readonly format: { readonly type: "json_schema"; readonly schema: JsonObject } };
  readonly metadata?: { readonly user_id: string };
  readonly [extra: string]: unknown;
}

/**
 * Thinking budget per OpenAI reasoning_effort. Anthropic's minimum is 1024; low/medium/high follow litellm's
 * defaults (1024/2048/4096) and the levels above double on. `none` sends no thinking at all.
 * @see https://platform.claude.com/docs/en/build-with-claude/extended-thinking
 */
export const THINKING_BUDGET_TOKENS: Readonly<Record<Exclude<ReasoningEffort, "none">, number>> = {
  minimal: 1024,
  low: 1024,
  medium: 2048,
  high: 4096,
  xhigh: 8192,
  max: 16384,
};

/** What json_object asks for: Anthropic has no schema-less JSON mode, so the model is told in `system`. */
export const JSON_OBJECT_INSTRUCTION =
  "Respond only with a single valid JSON object, without any other text.";

/** An empty object schema for tools declared without parameters (Anthropic requires input_schema). */
const EMPTY_INPUT_SCHEMA: JsonObject = { type: "object", properties: {} };

/** Builds the upstream body; throws invalid_request for what Anthropic cannot do. */
export function toAnthropicRequest(
  request: ChatRequest,
  upstreamModel: string,
  defaultMaxTokens: number,
): AnthropicRequestBody {
  validateAnthropicRequest(request);
  const conversation = convertToAnthropicConversation(request.messages);
  const system = [...conversation.system, ...formatInstruction(request.responseFormat)];
  const requestedMaxTokens = request.maxCompletionTokens ?? request.maxTokens ?? defaultMaxTokens;
  const thinking = canThink(conversation.messages)
    ? convertReasoningEffort(request.reasoningEffort)
    : undefined;
  const tools = request.tools?.map(convertTool);
  const toolChoice = tools?.length
    ? convertToolChoice(request.toolChoice, request.parallelToolCalls)
    : undefined;
  const outputFormat = convertResponseFormat(request.responseFormat);
  const body: AnthropicRequestBody = {
    model: upstreamModel,
    max_tokens:
      thinking === undefined ? requestedMaxTokens : maxTokensWithThinking(requestedMaxTokens, thinking),
    messages: conversation.messages,
    ...(system.length > 0 ? { system } : {}),
    stream: true,
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.topP === undefined ? {} : { top_p: request.topP }),
    ...(request.stop?.length ? { stop_sequences: request.stop } : {}),
    ...(tools?.length ? { tools } : {}),
    ...(toolChoice === undefined ? {} : { tool_choice: toolChoice }),
    ...(thinking === undefined ? {} : { thinking: { type: "enabled", budget_tokens: thinking } }),
    ...(outputFormat === undefined ? {} : { output_config: { format: outputFormat } }),
    ...(request.user === undefined ? {} : { metadata: { user_id: request.user } }),
  };
  return mergeExtraBody(body, request.extraBody, "replace");
}

function validateAnthropicRequest(request: ChatRequest): void {
  if (request.n !== undefined && request.n > 1) {
    throw invalid("n", "Anthropic returns a single candidate; n > 1 is not supported.");
  }
  // Anthropic's temperature range is 0..1, OpenAI's 0..2. Clamping 1.5 to 1 would silently change what the
  // client asked for, so we reject instead and let the client pick a value that means something here.
  if (request.temperature !== undefined && request.temperature > 1) {
    throw invalid("temperature", "Anthropic accepts temperature between 0 and 1.");
  }
}

function convertTool(tool: ToolDefinition): AnthropicTool {
  return {
    name: tool.name,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    input_schema: tool.parameters ?? EMPTY_INPUT_SCHEMA,
  };
}

/** @see https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use */
function convertToolChoice(
  choice: ToolChoice | undefined,
  parallelToolCalls: boolean | undefined,
): AnthropicToolChoice | undefined {
  const serial = parallelToolCalls === false ? ({ disable_parallel_tool_use: true } as const) : {};
  switch (choice?.type) {
    case undefined:
      // Anthropic only takes the parallel switch on a tool_choice, so "auto" carries it.
      return parallelToolCalls === false ? { type: "auto", ...serial } : undefined;
    case "auto":
      return { type: "auto", ...serial };
    case "none":
      return { type: "none" };
    case "required":
      return { type: "any", ...serial };
    case "function":
      return { type: "tool", name: choice.name, ...serial };
  }
}

/**
 * With thinking on, Anthropic refuses (400) a tool loop whose last assistant turn does not lead with the thinking
 * blocks it signed. When that turn comes without them (the client dropped the carrier, it was altered, or another
 * provider or model made the turn), this one step runs without thinking, which Anthropic accepts; the next user
 * turn starts a new loop with thinking again.
 * @see https://platform.claude.com/docs/en/build-with-claude/extended-thinking#extended-thinking-with-tool-use
 */
function canThink(messages: readonly AnthropicMessage[]): boolean {
  const last = messages.findLast((message) => message.role === "assistant");
  if (last === undefined || !last.content.some((block) => block.type === "tool_use")) return true;
  const first = last.content[0]?.type;
  return first === "thinking" || first === "redacted_thinking";
}

function convertReasoningEffort(effort: ReasoningEffort | undefined): number | undefined {
  return effort === undefined || effort === "none" ? undefined : THINKING_BUDGET_TOKENS[effort];
}

/**
 * Anthropic counts thinking inside max_tokens and requires budget_tokens < max_tokens. OpenAI's
 * max_completion_tokens also includes reasoning, so a limit that already leaves room is kept as is; a
 * smaller one gets the budget added on top, so the visible answer keeps the length the client asked for.
 */
function maxTokensWithThinking(maxTokens: number, budgetTokens: number): number {
  return maxTokens > budgetTokens ? maxTokens : maxTokens + budgetTokens;
}

/**
 * json_schema → `output_config.format` (Anthropic's structured outputs, which constrain decoding to the
 * schema). json_object, or json_schema without a schema, has no equivalent: see formatInstruction.
 * @see https://platform.claude.com/docs/en/build-with-claude/structured-outputs
 */
function convertResponseFormat(
  format: ResponseFormat | undefined,
): { readonly type: "json_schema"; readonly schema: JsonObject } | undefined {
  if (format?.type !== "json_schema" || format.schema === undefined) return undefined;
  return { type: "json_schema", schema: format.schema };
}

function formatInstruction(format: ResponseFormat | undefined): AnthropicTextBlock[] {
  const schemaless =
    format?.type === "json_object" || (format?.type === "json_schema" && format.schema === undefined);
  return schemaless ? [{ type: "text", text: JSON_OBJECT_INSTRUCTION }] : [];
}

function invalid(param: string, message: string): ProxyError {
  return new ProxyError("invalid_request", message, { param });
}
