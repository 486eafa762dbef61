/**
 * Canonical ChatRequest → Gemini `streamGenerateContent` body: prompt (to-contents.ts), tools, tool config,
 * generation config, then the client's `extraBody` deep-merged last (so a vendor field the proxy does not
 * model, e.g. `safetySettings` or an exact `generationConfig.thinkingConfig`, can still be sent; the prompt
 * and the other fields the gateway decides never come from it: src/core/extra-body.ts).
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 */
import { mergeExtraBody } from "../../core/extra-body.ts";
import type {
  ChatRequest,
  JsonObject,
  ReasoningEffort,
  ResponseFormat,
  ToolChoice,
  ToolDefinition,
} from "../../core/types.ts";
import { convertToGeminiParameters, convertToGeminiSchema } from "./json-schema.ts";
import { convertToGeminiPrompt } from "./to-contents.ts";

/** Builds the request body for `upstreamModel`. Throws ProxyError(invalid_request) for unmappable input. */
export function convertToGeminiRequest(request: ChatRequest, upstreamModel: string): JsonObject {
  const version = geminiMajorVersion(upstreamModel);
  const prompt = convertToGeminiPrompt(request.messages, {
    skipThoughtSignatureValidator: version !== undefined && version >= 3,
    systemAsUserText: /(?:^|\/)gemma-/.test(upstreamModel),
  });
  const body: JsonObject = { contents: prompt.contents };
  if (prompt.systemInstruction !== undefined) body.systemInstruction = prompt.systemInstruction;
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = [{ functionDeclarations: request.tools.map(convertToolDefinition) }];
    if (request.toolChoice !== undefined) body.toolConfig = convertToolChoice(request.toolChoice);
  }
  const generationConfig = convertGenerationConfig(request, version);
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;
  return mergeExtraBody(body, request.extraBody, "deep");
}

/** The major version in a model id such as `gemini-2.5-flash` or `models/gemini-3-pro-preview`. */
export function geminiMajorVersion(model: string): number | undefined {
  const match = /(?:^|\/)gemini-(\d+)/.exec(model);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function convertToolDefinition(tool: ToolDefinition): JsonObject {
  const declaration: JsonObject = { name: tool.name };
  if (tool.description !== undefined) declaration.description = tool.description;
  const parameters = convertToGeminiParameters(tool.parameters);
  if (parameters !== undefined) declaration.parameters = parameters;
  return declaration;
}

/**
 * OpenAI tool_choice → `functionCallingConfig`: auto → AUTO, none → NONE, required → ANY, a named function →
 * ANY restricted to that name.
 * @see https://ai.google.dev/gemini-api/docs/function-calling#function_calling_modes
 */
function convertToolChoice(choice: ToolChoice): JsonObject {
  switch (choice.type) {
    case "auto":
      return { functionCallingConfig: { mode: "AUTO" } };
    case "none":
      return { functionCallingConfig: { mode: "NONE" } };
    case "required":
      return { functionCallingConfig: { mode: "ANY" } };
    case "function":
      return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.name] } };
  }
}

function convertGenerationConfig(request: ChatRequest, version: number | undefined): JsonObject {
  const config: JsonObject = {};
  setIfDefined(config, "temperature", request.temperature);
  setIfDefined(config, "topP", request.topP);
  setIfDefined(config, "maxOutputTokens", request.maxCompletionTokens ?? request.maxTokens);
  if (request.stop !== undefined && request.stop.length > 0) config.stopSequences = [...request.stop];
  setIfDefined(config, "candidateCount", request.n);
  setIfDefined(config, "seed", request.seed);
  setIfDefined(config, "presencePenalty", request.presencePenalty);
  setIfDefined(config, "frequencyPenalty", request.frequencyPenalty);
  if (request.responseFormat !== undefined)
    Object.assign(config, convertResponseFormat(request.responseFormat));
  if (request.reasoningEffort !== undefined) {
    config.thinkingConfig = convertReasoningEffort(request.reasoningEffort, version);
  }
  return config;
}

/** json_object → JSON mime type; json_schema → also `responseSchema` (cleaned to Gemini's subset). */
function convertResponseFormat(format: ResponseFormat): JsonObject {
  switch (format.type) {
    case "text":
      return {};
    case "json_object":
      return { responseMimeType: "application/json" };
    case "json_schema":
      return format.schema === undefined
        ? { responseMimeType: "application/json" }
        : { responseMimeType: "application/json", responseSchema: convertToGeminiSchema(format.schema) };
  }
}

/**
 * Gemini 2.5 takes a token budget, Gemini 3 a level; sending both is a 400, so the model id decides (ids with
 * no version number, e.g. aliases, get a budget). Budgets follow Google's own OpenAI-compatible endpoint (low 1K,
 * medium 8K, high 24K; none disables). Gemini 3 cannot switch thinking off and some of its models accept only
 * low/high, so levels are folded to those two. Thoughts are requested (includeThoughts) unless effort is none.
 * @see https://ai.google.dev/gemini-api/docs/openai#thinking
 * @see https://ai.google.dev/gemini-api/docs/thinking
 */
export function convertReasoningEffort(effort: ReasoningEffort, version: number | undefined): JsonObject {
  const includeThoughts = effort !== "none";
  if (version !== undefined && version >= 3) {
    const thinkingLevel = effort === "none" || effort === "minimal" || effort === "low" ? "low" : "high";
    return { thinkingLevel, includeThoughts };
  }
  return { thinkingBudget: THINKING_BUDGETS[effort], includeThoughts };
}

const THINKING_BUDGETS: Readonly<Record<ReasoningEffort, number>> = {
  none: 0,
  minimal: 1024,
  low: 1024,
  medium: 8192,
  high: 24_576,
  xhigh: 24_576,
  max: 24_576,
};

function setIfDefined(target: JsonObject, key: string, value: number | undefined): void {
  if (value !== undefined) target[key] = value;
}
