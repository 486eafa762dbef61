/**
 * JSON Schema (what OpenAI clients send for tools and response_format) → the OpenAPI-3 subset Gemini accepts
 * in `functionDeclarations[].parameters` and `generationConfig.responseSchema`. Gemini answers 400 "Unknown
 * name" / "Invalid JSON payload" for keywords outside that subset, so we keep an allow-list and rewrite what
 * has an equivalent:
 * - kept: type, format (only the values Gemini allows for the type), title, description, nullable, enum (string
 *   values only), properties, required (only names that exist), items, anyOf, minItems, maxItems, minLength,
 *   maxLength, pattern, minimum, maximum, minProperties, maxProperties, propertyOrdering;
 * - rewritten: `type: [T, "null"]` → `type: T, nullable: true`; `anyOf`/`oneOf` with a `{type:"null"}` member →
 *   `nullable`; `oneOf` → `anyOf`; `const` → one-value `enum`; `allOf` → its members merged; local `$ref` into
 *   `$defs`/`definitions` → inlined (a recursive reference becomes a bare `{type:"object"}`);
 * - dropped: `$schema`, `$id`, `$defs`, `definitions`, `$comment`, `additionalProperties`, `default`,
 *   `examples`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `uniqueItems`, `patternProperties`, `not`,
 *   `if`/`then`/`else`, `dependentRequired`, `contentEncoding`, `strict` and anything else unknown; an object's
 *   empty `properties` (Gemini: "should be non-empty for OBJECT type").
 * @see https://ai.google.dev/api/caching#Schema
 * @see https://ai.google.dev/gemini-api/docs/structured-output
 */
import { isJsonObject } from "../../core/json-object.ts";
import type { JsonObject, JsonValue } from "../../core/types.ts";

/** Keywords copied through unchanged (their values are scalars or arrays of scalars). */
const PLAIN_KEYWORDS = [
  "title",
  "description",
  "nullable",
  "minItems",
  "maxItems",
  "minLength",
  "maxLength",
  "pattern",
  "minimum",
  "maximum",
  "minProperties",
  "maxProperties",
  "propertyOrdering",
] as const;

/** Formats Gemini accepts, per type; any other format is rejected upstream, so it is dropped. */
const ALLOWED_FORMATS: Readonly<Record<string, readonly string[]>> = {
  string: ["enum", "date-time"],
  integer: ["int32", "int64"],
  number: ["float", "double"],
};

/** Deepest `$ref` chain we inline before giving up on a schema. */
const MAX_REF_DEPTH = 16;

/** Cleans a tool's `parameters`; undefined when the tool takes no arguments (Gemini wants none sent then). */
export function convertToGeminiParameters(schema: JsonObject | undefined): JsonObject | undefined {
  if (schema === undefined) return undefined;
  const cleaned = convertToGeminiSchema(schema);
  const properties = cleaned.properties;
  const empty =
    properties === undefined || (isJsonObject(properties) && Object.keys(properties).length === 0);
  return cleaned.type === "object" && empty ? undefined : cleaned;
}

/** Cleans any JSON Schema into Gemini's subset. */
export function convertToGeminiSchema(schema: JsonObject): JsonObject {
  const definitions = { ...asObject(schema.definitions), ...asObject(schema.$defs) };
  return cleanSchema(schema, { definitions, refStack: [] });
}

interface CleanContext {
  readonly definitions: JsonObject;
  /** `$ref`s being inlined above this point, to stop on recursion. */
  readonly refStack: readonly string[];
}

function cleanSchema(schema: JsonObject, context: CleanContext): JsonObject {
  if (typeof schema.$ref === "string") return inlineReference(schema, schema.$ref, context);
  const result: JsonObject = {};
  copyType(schema, result);
  copyFormat(schema, result);
  for (const keyword of PLAIN_KEYWORDS) {
    const value = schema[keyword];
    if (value !== undefined) result[keyword] = value;
  }
  copyEnum(schema, result);
  copyProperties(schema, result, context);
  if (isJsonObject(schema.items)) result.items = cleanSchema(schema.items, context);
  else if (Array.isArray(schema.items) && isJsonObject(schema.items[0]))
    result.items = cleanSchema(schema.items[0], context);
  copyAlternatives(schema, result, context);
  if (Array.isArray(schema.allOf)) mergeAllOf(schema.allOf, result, context);
  return result;
}

function inlineReference(schema: JsonObject, reference: string, context: CleanContext): JsonObject {
  const name = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(reference)?.[1];
  const target = name === undefined ? undefined : context.definitions[name];
  if (
    !isJsonObject(target) ||
    context.refStack.includes(reference) ||
    context.refStack.length >= MAX_REF_DEPTH
  ) {
    // Unresolvable or recursive: Gemini has no references, so the best we can say is "an object".
    return withDescription({ type: "object" }, schema.description);
  }
  const inlined = cleanSchema(target, { ...context, refStack: [...context.refStack, reference] });
  return withDescription(inlined, schema.description);
}

function copyType(schema: JsonObject, result: JsonObject): void {
  const type = schema.type;
  if (typeof type === "string") {
    result.type = type;
  } else if (Array.isArray(type)) {
    const nonNull = type.filter((entry) => entry !== "null");
    if (nonNull.length < type.length) result.nullable = true;
    if (nonNull.length === 1) result.type = nonNull[0] ?? null;
    else if (nonNull.length > 1) result.anyOf = nonNull.map((entry) => ({ type: entry }));
  }
}

function copyFormat(schema: JsonObject, result: JsonObject): void {
  if (typeof schema.format !== "string" || typeof result.type !== "string") return;
  if (ALLOWED_FORMATS[result.type]?.includes(schema.format)) result.format = schema.format;
}

/** Gemini enums are string-only; a `const` is a one-value enum. */
function copyEnum(schema: JsonObject, result: JsonObject): void {
  const values = Array.isArray(schema.enum)
    ? schema.enum
    : schema.const !== undefined
      ? [schema.const]
      : undefined;
  if (values === undefined) return;
  const strings = values.filter((value) => typeof value === "string");
  if (strings.length === values.length && strings.length > 0) result.enum = strings;
}

function copyProperties(schema: JsonObject, result: JsonObject, context: CleanContext): void {
  if (!isJsonObject(schema.properties)) return;
  const properties: JsonObject = {};
  for (const [name, property] of Object.entries(schema.properties)) {
    if (isJsonObject(property)) properties[name] = cleanSchema(property, context);
  }
  const names = Object.keys(properties);
  if (names.length === 0) return;
  result.properties = properties;
  if (Array.isArray(schema.required)) {
    const required = schema.required.filter((name) => typeof name === "string" && names.includes(name));
    if (required.length > 0) result.required = required;
  }
}

/** `anyOf`/`oneOf`: a null member becomes `nullable`; a single remaining member is inlined. */
function copyAlternatives(schema: JsonObject, result: JsonObject, context: CleanContext): void {
  const alternatives = Array.isArray(schema.anyOf)
    ? schema.anyOf
    : Array.isArray(schema.oneOf)
      ? schema.oneOf
      : [];
  if (alternatives.length === 0) return;
  const members = alternatives.filter(isJsonObject);
  const nonNull = members.filter((member) => member.type !== "null");
  if (nonNull.length < members.length) result.nullable = true;
  const cleaned = nonNull.map((member) => cleanSchema(member, context));
  // The outer schema's own keywords (e.g. its description) win over the single member's.
  if (cleaned.length === 1 && cleaned[0] !== undefined) Object.assign(result, { ...cleaned[0], ...result });
  else if (cleaned.length > 1) result.anyOf = cleaned;
}

/** `allOf` members are merged: properties and required lists unite, other keywords keep the first value. */
function mergeAllOf(members: readonly JsonValue[], result: JsonObject, context: CleanContext): void {
  for (const member of members) {
    if (!isJsonObject(member)) continue;
    const cleaned = cleanSchema(member, context);
    for (const [keyword, value] of Object.entries(cleaned)) {
      if (keyword === "properties" && isJsonObject(value)) {
        result.properties = { ...asObject(result.properties), ...value };
      } else if (keyword === "required" && Array.isArray(value)) {
        const required = Array.isArray(result.required) ? result.required : [];
        result.required = [...new Set([...required, ...value])];
      } else if (result[keyword] === undefined) {
        result[keyword] = value;
      }
    }
  }
}

function withDescription(schema: JsonObject, description: JsonValue | undefined): JsonObject {
  return typeof description === "string" ? { ...schema, description } : schema;
}

function asObject(value: JsonValue | undefined): JsonObject {
  return isJsonObject(value) ? value : {};
}
