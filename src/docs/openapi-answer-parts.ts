/**
 * The parts of an answer's schemas that carry what the vendor said besides text and tool calls: usage and its
 * details, logprobs, annotations, the service tier and fingerprint. They mirror src/openai/from-canonical.ts.
 * @see https://platform.openai.com/docs/api-reference/chat/object
 */
import { type JsonSchema, nullable, ref } from "./openapi-json-schema.ts";

const count: JsonSchema = { type: "integer", minimum: 0 };

export const usage: JsonSchema = {
  type: "object",
  description:
    "Counted as OpenAI counts: each detail is part of its total. A details object, and each count in it, is " +
    "present when the vendor reported it (Anthropic's and Gemini's cache and thinking counts are mapped in).",
  required: ["prompt_tokens", "completion_tokens", "total_tokens"],
  properties: {
    prompt_tokens: count,
    completion_tokens: count,
    total_tokens: count,
    prompt_tokens_details: {
      type: "object",
      properties: {
        cached_tokens: { ...count, description: "Read from the vendor's prompt cache." },
        audio_tokens: count,
        cache_write_tokens: {
          ...count,
          description: "Written to the vendor's prompt cache (Anthropic's cache_creation_input_tokens).",
        },
      },
    },
    completion_tokens_details: {
      type: "object",
      properties: {
        reasoning_tokens: { ...count, description: "Thinking tokens." },
        audio_tokens: count,
        accepted_prediction_tokens: count,
        rejected_prediction_tokens: count,
      },
    },
  },
};

const topLogprob = {
  token: { type: "string" },
  logprob: { type: "number" },
  bytes: {
    anyOf: [{ type: "array", items: { type: "integer", minimum: 0, maximum: 255 } }, { type: "null" }],
    description: "The token's UTF-8 bytes; null when it has none.",
  },
} satisfies Record<string, JsonSchema>;

export const tokenLogprob: JsonSchema = {
  type: "object",
  required: ["token", "logprob"],
  properties: {
    ...topLogprob,
    top_logprobs: {
      type: "array",
      items: { type: "object", required: ["token", "logprob"], properties: topLogprob },
    },
  },
};

export const choiceLogprobs: JsonSchema = {
  type: "object",
  description:
    "The vendor's log probabilities, as it sent them, when the request asked for them (`logprobs: true`, " +
    "`top_logprobs`). On a chunk: the tokens of that chunk's content or refusal.",
  properties: {
    content: nullable({ type: "array", items: ref("TokenLogprob") }),
    refusal: nullable({ type: "array", items: ref("TokenLogprob") }),
  },
};

export const annotation: JsonSchema = {
  type: "object",
  description: "A web page the content cites (search models); indices are character offsets in the content.",
  required: ["type", "url_citation"],
  properties: {
    type: { const: "url_citation" },
    url_citation: {
      type: "object",
      required: ["end_index", "start_index", "title", "url"],
      properties: {
        end_index: count,
        start_index: count,
        title: { type: "string" },
        url: { type: "string" },
      },
    },
  },
};

/** The answer-wide fields every chunk repeats. */
export const answerMeta = {
  service_tier: { type: "string", description: "The tier that served the request, when the vendor says." },
  system_fingerprint: {
    type: "string",
    description: "The vendor's backend configuration, when it says (from its first event on a stream).",
  },
} satisfies Record<string, JsonSchema>;
