/**
 * Canonical chat types shared by both edges, the core and every provider adapter.
 *
 * Deliberately close to proto/llmproxy/v1/chat.proto (same concepts and names, camelCase), but plain
 * TypeScript: no generated `$typeName`, no bigint, no `{case, value}` oneofs, and `undefined` means unset.
 */

/** Any JSON value, as found in tool schemas and vendor extra fields. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** Message author. `developer` is OpenAI's newer name for `system`. */
export type Role = "system" | "developer" | "user" | "assistant" | "tool";

/** One part of a multi-part message. */
export type ContentPart =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image_url"; readonly url: string; readonly detail?: "auto" | "low" | "high" };

/** A complete tool call, as the model made it. `arguments` is a JSON string, never parsed by the core. */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

/**
 * Who produced a reasoning state: the provider (its config key) and the upstream model id that answered. Only
 * an attempt at that same provider and model gets the state back (src/core/reasoning-state.ts), because a
 * vendor refuses signatures it did not issue, and Gemini's are tied to the model.
 */
export interface ReasoningOrigin {
  readonly provider: string;
  readonly model: string;
}

/** An Anthropic thinking block, whole, as the vendor wants it back (it checks the signature against the text). */
export type ReasoningBlock =
  | { readonly type: "thinking"; readonly thinking: string; readonly signature: string }
  | { readonly type: "redacted_thinking"; readonly data: string };

/**
 * The opaque reasoning state of one assistant turn that its upstream needs back on the next turn of a tool
 * loop. Clients never see it in the clear: edges seal it (src/core/reasoning-seal.ts) into their protocol's
 * carrier and open it when it comes back. DeepSeek's and Moonshot's `reasoning_content` is not here: it is plain
 * text that clients see and return as `ChatMessage.reasoningContent`.
 */
export interface ReasoningState {
  readonly origin: ReasoningOrigin;
  /** Anthropic: the thinking and redacted_thinking blocks that lead the turn, in order. */
  readonly blocks?: readonly ReasoningBlock[];
  /** Gemini: the thoughtSignature of the turn's text (sent back on its first text part). */
  readonly textSignature?: string;
  /** Gemini: the thoughtSignature of each functionCall part, by tool call id. */
  readonly toolSignatures?: Readonly<Record<string, string>>;
}

/** One message of the conversation. */
export interface ChatMessage {
  readonly role: Role;
  /** A string, a list of parts, or null (assistant turns with only tool calls). */
  readonly content: string | readonly ContentPart[] | null;
  readonly name?: string;
  /** role=tool: the tool call this message answers. */
  readonly toolCallId?: string;
  /** role=assistant: the calls the model made. */
  readonly toolCalls?: readonly ToolCall[];
  /** role=assistant: reasoning from a thinking model, kept for vendors that need it back. */
  readonly reasoningContent?: string;
  /** role=assistant: the upstream's opaque reasoning state, opened from the client's carrier. */
  readonly reasoningState?: ReasoningState;
}

/** A function the model may call. */
export interface ToolDefinition {
  readonly name: string;
  readonly description?: string;
  /** JSON Schema of the arguments. */
  readonly parameters?: JsonObject;
  readonly strict?: boolean;
}

/** OpenAI's tool_choice. */
export type ToolChoice =
  | { readonly type: "none" }
  | { readonly type: "auto" }
  | { readonly type: "required" }
  | { readonly type: "function"; readonly name: string };

/** OpenAI's response_format. */
export type ResponseFormat =
  | { readonly type: "text" }
  | { readonly type: "json_object" }
  | {
      readonly type: "json_schema";
      readonly name: string;
      readonly description?: string;
      readonly schema?: JsonObject;
      readonly strict?: boolean;
    };

/** Reasoning effort levels OpenAI accepts. */
export type ReasoningEffort = "none" | "minimal" | "low" | "medium" | "high" | "xhigh" | "max";

/** A chat completion request after decoding, whichever edge it came from. */
export interface ChatRequest {
  /** Public model name, as the client sent it (the default model already applied). */
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly temperature?: number;
  readonly topP?: number;
  readonly maxTokens?: number;
  readonly maxCompletionTokens?: number;
  readonly stop?: readonly string[];
  readonly n?: number;
  readonly seed?: number;
  readonly user?: string;
  readonly tools?: readonly ToolDefinition[];
  readonly toolChoice?: ToolChoice;
  readonly parallelToolCalls?: boolean;
  readonly responseFormat?: ResponseFormat;
  readonly reasoningEffort?: ReasoningEffort;
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  /** stream_options.include_usage: the client wants a final usage chunk. */
  readonly includeUsage: boolean;
  /** Vendor fields we do not model, merged into the upstream body by adapters that speak OpenAI's format. */
  readonly extraBody?: JsonObject;
  /**
   * The client's original body, tagged with its wire format (DESIGN-2 section 2): only an adapter of that same
   * format uses it, to send what the fields above cannot carry; any other adapter (a fallback) ignores it.
   */
  readonly native?: NativeBody;
}

/** A request body as the client sent it, and the headers of its format that an upstream of that format needs. */
export interface NativeBody {
  /** `anthropic`: a Messages API body (the Anthropic adapter sends it with only the model id replaced). */
  readonly format: "anthropic";
  readonly body: JsonObject;
  /** Headers passed on unchanged (e.g. `anthropic-beta`). */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Token counts, counted as OpenAI counts them: every detail is a part of its total (the prompt details of
 * promptTokens, the completion details of completionTokens). A detail is present only when the vendor said it.
 */
export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
  /** Prompt tokens read from the vendor's cache. */
  readonly cachedTokens?: number;
  /** Prompt tokens written to the vendor's cache (Anthropic bills them apart). */
  readonly cacheWriteTokens?: number;
  readonly promptAudioTokens?: number;
  /** Thinking tokens. */
  readonly reasoningTokens?: number;
  readonly completionAudioTokens?: number;
  /** Predicted Outputs: prediction tokens that appeared in the completion, and those that did not. */
  readonly acceptedPredictionTokens?: number;
  readonly rejectedPredictionTokens?: number;
}

/** One of the likeliest tokens at a position. Optional fields are absent when the vendor left them out. */
export interface TopLogprob {
  readonly token: string;
  readonly logprob: number;
  /** The token's UTF-8 bytes; null when it has no byte form. */
  readonly bytes?: readonly number[] | null;
}

/** One sampled token with its log probability and the likeliest alternatives. */
export interface TokenLogprob extends TopLogprob {
  readonly topLogprobs?: readonly TopLogprob[] | null;
}

/**
 * The log probabilities one vendor chunk gave for a choice (OpenAI's `logprobs` object): those of content
 * tokens and those of refusal tokens. undefined means the vendor left the key out, null that it sent null.
 */
export interface ChoiceLogprobs {
  readonly content?: readonly TokenLogprob[] | null;
  readonly refusal?: readonly TokenLogprob[] | null;
}

/** A web page the answer cites (OpenAI's `url_citation` annotation); indices are character offsets in the content. */
export interface UrlCitation {
  readonly type: "url_citation";
  readonly url: string;
  readonly title: string;
  readonly startIndex: number;
  readonly endIndex: number;
}

/** A note on a choice's content. OpenAI documents one kind. */
export type Annotation = UrlCitation;

/** The unified finish reasons. `other` keeps the vendor's raw value in `rawReason`. */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "other";

/**
 * The stream every adapter yields and every edge encodes.
 *
 * Lifecycle per response: one `response-start`, then for each choice any number of text, reasoning and refusal
 * deltas, annotations and tool calls (start, deltas, end; `index` counts tool calls within the choice from 0), then one `finish` per
 * choice. `usage` may come at any point; the core re-emits it once, last.
 */
export type ChatChunk =
  | {
      readonly type: "response-start";
      /** Upstream completion id, when it has one. */
      readonly id?: string;
      /** Model the upstream says answered. */
      readonly model?: string;
      /** OpenAI's `system_fingerprint`: the backend configuration that answered. */
      readonly systemFingerprint?: string;
      /** OpenAI's `service_tier`: the tier that served the request. */
      readonly serviceTier?: string;
    }
  | {
      readonly type: "text-delta";
      readonly choice: number;
      /** May be "" when the delta only carries `logprobs`. */
      readonly text: string;
      /** The log probabilities the vendor sent with this piece, as it sent them. */
      readonly logprobs?: ChoiceLogprobs;
    }
  | {
      readonly type: "reasoning-delta";
      readonly choice: number;
      readonly text: string;
      /** The vendor's signature of the thinking so far (Anthropic's signature_delta), for edges that return it. */
      readonly signature?: string;
    }
  /** The model declined: its explanation, apart from the content (OpenAI's `refusal`). */
  | {
      readonly type: "refusal-delta";
      readonly choice: number;
      readonly text: string;
      readonly logprobs?: ChoiceLogprobs;
    }
  /** Annotations sent in one delta, as one list (a client may replace, not append, on each delta). */
  | {
      readonly type: "annotation-delta";
      readonly choice: number;
      readonly annotations: readonly Annotation[];
    }
  /**
   * A piece of the turn's opaque reasoning state (never shown to clients as such): an Anthropic thinking block
   * once it is complete, or the thoughtSignature of a Gemini text part.
   */
  | {
      readonly type: "reasoning-state";
      readonly choice: number;
      readonly block?: ReasoningBlock;
      readonly textSignature?: string;
    }
  | {
      readonly type: "tool-call-start";
      readonly choice: number;
      readonly index: number;
      readonly id: string;
      readonly name: string;
      /** Gemini: the thoughtSignature the vendor tied to this call. */
      readonly signature?: string;
    }
  | {
      readonly type: "tool-call-delta";
      readonly choice: number;
      readonly index: number;
      readonly arguments: string;
    }
  | { readonly type: "tool-call-end"; readonly choice: number; readonly index: number }
  | { readonly type: "usage"; readonly usage: Usage }
  | {
      readonly type: "finish";
      readonly choice: number;
      readonly reason: FinishReason;
      /** The vendor's own value (e.g. Anthropic `end_turn`), null when it sent none. */
      readonly rawReason: string | null;
    };

/** One aggregated choice of a non-streaming response. */
export interface ChatChoiceResult {
  readonly index: number;
  /** null when the model only called tools or refused. */
  readonly content: string | null;
  readonly reasoningContent?: string;
  /** The vendor's signature of the reasoning (Anthropic's, only when the Messages edge asked for it). */
  readonly reasoningSignature?: string;
  /** The turn's opaque reasoning state, tagged with the provider and model that served it. */
  readonly reasoningState?: ReasoningState;
  /** The model's refusal, when it refused. */
  readonly refusal?: string;
  readonly toolCalls: readonly ToolCall[];
  /** Present when the vendor sent annotations (even an empty list). */
  readonly annotations?: readonly Annotation[];
  /** Present when the vendor sent log probabilities: every chunk's lists joined, as OpenAI's SDK joins them. */
  readonly logprobs?: ChoiceLogprobs;
  readonly finishReason: FinishReason;
  readonly rawFinishReason: string | null;
}

/** A whole response: the stream aggregated. */
export interface ChatResult {
  readonly id: string;
  readonly model: string;
  /** Unix seconds. */
  readonly created: number;
  readonly choices: readonly ChatChoiceResult[];
  readonly usage?: Usage;
  readonly systemFingerprint?: string;
  readonly serviceTier?: string;
}

/** A public model name and where it routes. */
export interface ModelInfo {
  readonly id: string;
  readonly ownedBy: string;
}

/** The finish_reason string an OpenAI-shaped edge sends for a canonical finish. */
export function toWireFinishReason(reason: FinishReason, rawReason: string | null): string {
  return reason === "other" ? (rawReason ?? "stop") : reason;
}
