/**
 * OpenAI's Response object and its output items, built from canonical values: the whole answer of a
 * non-streaming call (from the core's aggregate), and the snapshots a stream's events carry. Ids follow OpenAI's
 * prefixes (`resp_`, `msg_`, `fc_`, `ctc_`, `rs_`) and share the completion's random part, so one answer's ids
 * read as one. A call's `call_id` is the upstream's own tool-call id, so a resent call reaches it unchanged.
 */
import type { ReasoningSeal } from "../core/reasoning-seal.ts";
import type { Annotation, ChatResult, FinishReason, ToolCall, Usage } from "../core/types.ts";
import type { OpenAIErrorObject } from "../edge/openai-errors.ts";
import type { ResponseEcho } from "./to-canonical.ts";
import { clientToolOf, type ToolPlan } from "./tools.ts";

/** A JSON object as the wire carries it. */
export type WireObject = Record<string, unknown>;

/** How an answer ended, in Responses terms. */
export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

/** The ids of one answer. */
export interface ResponseIds {
  readonly response: string;
  /** The random part shared by the item ids. */
  readonly suffix: string;
}

/** Ids from the core's `chatcmpl-…` id. */
export function responseIdsOf(completionId: string): ResponseIds {
  const suffix = completionId.slice(completionId.indexOf("-") + 1);
  return { response: `resp_${suffix}`, suffix };
}

/** An item id: `prefix_` + the answer's random part + the item's position. */
export function itemId(prefix: string, ids: ResponseIds, outputIndex: number): string {
  return `${prefix}_${ids.suffix}${outputIndex}`;
}

/** What a finished answer's status and incomplete_details are. */
export function statusOf(reason: FinishReason | undefined): {
  readonly status: ResponseStatus;
  readonly incompleteReason: string | null;
} {
  if (reason === "length") return { status: "incomplete", incompleteReason: "max_output_tokens" };
  if (reason === "content_filter") return { status: "incomplete", incompleteReason: "content_filter" };
  return { status: "completed", incompleteReason: null };
}

/** The Response object around `output`. */
export function responseObject(fields: {
  readonly ids: ResponseIds;
  readonly createdAt: number;
  readonly model: string;
  readonly echo: ResponseEcho;
  readonly status: ResponseStatus;
  readonly output: readonly WireObject[];
  readonly usage?: Usage;
  readonly incompleteReason?: string | null;
  readonly error?: OpenAIErrorObject;
  readonly serviceTier?: string;
}): WireObject {
  const { echo } = fields;
  return {
    id: fields.ids.response,
    object: "response",
    created_at: fields.createdAt,
    status: fields.status,
    background: false,
    error:
      fields.error === undefined
        ? null
        : { code: fields.error.code ?? fields.error.type, message: fields.error.message },
    incomplete_details: fields.incompleteReason == null ? null : { reason: fields.incompleteReason },
    instructions: echo.instructions,
    max_output_tokens: echo.maxOutputTokens,
    metadata: echo.metadata,
    model: fields.model,
    output: fields.output,
    parallel_tool_calls: echo.parallelToolCalls,
    previous_response_id: null,
    reasoning: { effort: echo.reasoningEffort, summary: null },
    service_tier: fields.serviceTier ?? null,
    store: echo.store,
    temperature: echo.temperature,
    text: echo.text,
    tool_choice: echo.toolChoice,
    tools: echo.tools,
    top_p: echo.topP,
    truncation: "disabled",
    usage: fields.usage === undefined ? null : toWireUsage(fields.usage),
    user: echo.user,
  };
}

/** Canonical usage in Responses' names. */
export function toWireUsage(usage: Usage): WireObject {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: usage.cachedTokens ?? 0 },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.totalTokens,
  };
}

/** A `message` item. */
export function messageItem(id: string, status: string, content: readonly WireObject[]): WireObject {
  return { id, type: "message", status, role: "assistant", content };
}

/** An `output_text` part. */
export function outputTextPart(text: string, annotations: readonly Annotation[] = []): WireObject {
  return { type: "output_text", text, annotations: annotations.map(toWireAnnotation), logprobs: [] };
}

/** A `refusal` part. */
export function refusalPart(refusal: string): WireObject {
  return { type: "refusal", refusal };
}

function toWireAnnotation(annotation: Annotation): WireObject {
  return {
    type: "url_citation",
    url: annotation.url,
    title: annotation.title,
    start_index: annotation.startIndex,
    end_index: annotation.endIndex,
  };
}

/**
 * A `reasoning` item whose summary is the upstream's reasoning text and, when the client asked for it, whose
 * `encrypted_content` is the turn's sealed reasoning state (issue 24: the client returns the item as it came).
 */
export function reasoningItem(id: string, text: string, encryptedContent?: string): WireObject {
  const item: WireObject = {
    id,
    type: "reasoning",
    summary: text === "" ? [] : [{ type: "summary_text", text }],
  };
  if (encryptedContent !== undefined) item.encrypted_content = encryptedContent;
  return item;
}

/** A `function_call` (or, for a freeform tool, `custom_tool_call`) item with the client's tool name. */
export function toolCallItem(
  ids: ResponseIds,
  outputIndex: number,
  call: ToolCall,
  plan: ToolPlan,
  status: string,
): WireObject {
  const tool = clientToolOf(plan, call.name);
  if (tool.custom) {
    return {
      id: itemId("ctc", ids, outputIndex),
      type: "custom_tool_call",
      status,
      call_id: call.id,
      name: tool.name,
      input: customInput(call.arguments),
    };
  }
  const item: WireObject = {
    id: itemId("fc", ids, outputIndex),
    type: "function_call",
    status,
    call_id: call.id,
    name: tool.name,
    arguments: call.arguments,
  };
  if (tool.namespace !== undefined) item.namespace = tool.namespace;
  return item;
}

/** A freeform tool's input from the `{"input": …}` arguments the upstream wrote (as is when they are not that). */
export function customInput(argumentsJson: string): string {
  try {
    const parsed: unknown = JSON.parse(argumentsJson);
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      typeof (parsed as { input?: unknown }).input === "string"
    ) {
      return (parsed as { input: string }).input;
    }
  } catch {
    // Not JSON: the model wrote the input itself.
  }
  return argumentsJson;
}

/**
 * The whole non-streaming answer: reasoning, then the message, then the calls. With `seal` (the client asked
 * for `reasoning.encrypted_content`) the reasoning item carries the turn's state, and is written for it alone
 * when the upstream showed no reasoning text.
 */
export function toResponse(
  result: ChatResult,
  echo: ResponseEcho,
  plan: ToolPlan,
  seal?: ReasoningSeal,
): WireObject {
  const ids = responseIdsOf(result.id);
  const choice = result.choices[0];
  const output: WireObject[] = [];
  const text = choice?.reasoningContent ?? "";
  const state = choice?.reasoningState;
  const encrypted = seal === undefined || state === undefined ? undefined : seal.seal(state);
  if (text !== "" || encrypted !== undefined) {
    output.push(reasoningItem(itemId("rs", ids, output.length), text, encrypted));
  }
  const parts: WireObject[] = [];
  if (choice?.content !== null && choice?.content !== undefined && choice.content !== "") {
    parts.push(outputTextPart(choice.content, choice.annotations));
  }
  if (choice?.refusal !== undefined) parts.push(refusalPart(choice.refusal));
  if (parts.length > 0) output.push(messageItem(itemId("msg", ids, output.length), "completed", parts));
  for (const call of choice?.toolCalls ?? [])
    output.push(toolCallItem(ids, output.length, call, plan, "completed"));
  const { status, incompleteReason } = statusOf(choice?.finishReason);
  return responseObject({
    ids,
    createdAt: result.created,
    model: result.model,
    echo,
    status,
    output,
    usage: result.usage,
    incompleteReason,
    serviceTier: result.serviceTier,
  });
}
