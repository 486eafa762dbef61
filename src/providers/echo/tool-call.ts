/**
 * What the echo provider does with tools, so tool-calling code can be tried without a vendor:
 * - a request with `tools` (and tool_choice other than `none`) is answered with one call of the tool that
 *   tool_choice forces, else of the first tool, its arguments a placeholder object built from the tool's
 *   parameters schema;
 * - a request whose last message is a tool result is answered with text that quotes each result, whatever
 *   tool_choice says, so that a client's tool loop ends after one round.
 */
import { isJsonObject } from "../../core/json-object.ts";
import type { ChatMessage, ChatRequest, JsonObject, JsonValue } from "../../core/types.ts";

/** The call echo makes: the tool's name and its arguments as JSON text. */
export interface EchoToolCall {
  readonly name: string;
  readonly arguments: string;
}

/** Deeper schemas (or $ref cycles) get null: a placeholder needs no more. */
const MAX_DEPTH = 8;

/** The tool call to answer `request` with, or undefined when echo should answer with text. */
export function echoToolCall(request: ChatRequest): EchoToolCall | undefined {
  const tools = request.tools ?? [];
  const choice = request.toolChoice;
  if (tools.length === 0 || choice?.type === "none") return undefined;
  if (request.messages.at(-1)?.role === "tool") return undefined;
  const forced = choice?.type === "function" ? choice.name : undefined;
  const tool = forced === undefined ? tools[0] : tools.find((candidate) => candidate.name === forced);
  const schema = tool?.parameters ?? { type: "object" };
  return {
    name: forced ?? tool?.name ?? "tool",
    arguments: JSON.stringify(placeholder(schema, schema, 0) ?? {}),
  };
}

/**
 * The text that answers trailing tool results: `The tool <name> answered: <content>` for each, the name taken
 * from the assistant turn that made the call. Undefined when the last message is not a tool result.
 */
export function toolResultSummary(
  messages: readonly ChatMessage[],
  textOf: (message: ChatMessage) => string,
): string | undefined {
  let start = messages.length;
  while (start > 0 && messages[start - 1]?.role === "tool") start -= 1;
  if (start === messages.length) return undefined;
  const calls = new Map<string, string>();
  for (const message of messages.slice(0, start))
    for (const call of message.toolCalls ?? []) calls.set(call.id, call.name);
  return messages
    .slice(start)
    .map((message) => {
      const name = (message.toolCallId === undefined ? undefined : calls.get(message.toolCallId)) ?? "tool";
      return `The tool ${name} answered: ${textOf(message)}`;
    })
    .join("\n");
}

/**
 * A value the schema accepts for the common cases: `const`, else the first `enum` value, else by type: an
 * object with its required properties, `minItems` items of an array, "example" for a string, the lower bound
 * (or 0) for a number, true for a boolean. `$ref` to `#/$defs/…` or `#/definitions/…` is followed, the first
 * branch of anyOf/oneOf taken and allOf's object branches merged.
 */
function placeholder(schema: JsonValue | undefined, root: JsonObject, depth: number): JsonValue {
  if (!isJsonObject(schema) || depth > MAX_DEPTH) return null;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0] ?? null;
  if (typeof schema.$ref === "string") return placeholder(resolveRef(schema.$ref, root), root, depth + 1);
  for (const key of ["anyOf", "oneOf"] as const) {
    const branches = schema[key];
    if (Array.isArray(branches) && branches.length > 0) {
      const branch = branches.find((candidate) => !isJsonObject(candidate) || candidate.type !== "null");
      return placeholder(branch ?? branches[0], root, depth + 1);
    }
  }
  if (Array.isArray(schema.allOf)) return mergedAllOf(schema.allOf, root, depth);
  switch (typeOf(schema)) {
    case "object":
      return objectPlaceholder(schema, root, depth);
    case "array":
      return arrayPlaceholder(schema, root, depth);
    case "string":
      return "example";
    case "integer":
      return Math.ceil(numberPlaceholder(schema));
    case "number":
      return numberPlaceholder(schema);
    case "boolean":
      return true;
    default:
      return null;
  }
}

function objectPlaceholder(schema: JsonObject, root: JsonObject, depth: number): JsonObject {
  const properties = isJsonObject(schema.properties) ? schema.properties : {};
  const required = Array.isArray(schema.required) ? schema.required : [];
  const value: JsonObject = {};
  for (const name of required) {
    if (typeof name === "string") value[name] = placeholder(properties[name] ?? {}, root, depth + 1);
  }
  return value;
}

function arrayPlaceholder(schema: JsonObject, root: JsonObject, depth: number): JsonValue[] {
  const count = typeof schema.minItems === "number" ? Math.min(schema.minItems, 16) : 0;
  return Array.from({ length: count }, () => placeholder(schema.items, root, depth + 1));
}

function numberPlaceholder(schema: JsonObject): number {
  if (typeof schema.minimum === "number") return schema.minimum;
  if (typeof schema.exclusiveMinimum === "number") return schema.exclusiveMinimum + 1;
  if (typeof schema.maximum === "number" && schema.maximum < 0) return schema.maximum;
  return 0;
}

function mergedAllOf(branches: JsonValue[], root: JsonObject, depth: number): JsonValue {
  const values = branches.map((branch) => placeholder(branch, root, depth + 1));
  if (!values.every(isJsonObject)) return values[0] ?? null;
  return Object.assign({}, ...values);
}

/** The schema's type; a list of types gives its first non-null one; properties alone mean an object. */
function typeOf(schema: JsonObject): string | undefined {
  const type = Array.isArray(schema.type) ? schema.type.find((entry) => entry !== "null") : schema.type;
  if (typeof type === "string") return type;
  return isJsonObject(schema.properties) ? "object" : undefined;
}

function resolveRef(ref: string, root: JsonObject): JsonValue | undefined {
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (match === null) return undefined;
  const definitions = root[match[1] ?? ""];
  return isJsonObject(definitions) ? definitions[decodeURIComponent(match[2] ?? "")] : undefined;
}
