/**
 * The JSON body parser of the OpenAI routes, strict where JSON.parse is lenient: the bytes must be valid UTF-8
 * (RFC 8259 §8.1; a lenient decoder would turn bad bytes into U+FFFD and forward text the client never sent),
 * nesting is bounded, since a deep value passes validation as an extra field or a schema and would overflow the
 * stack when serialized for the upstream, and `__proto__` keys are refused as Fastify's own JSON parser does.
 * It replaces every parser in the facade's scope, application/json included: the body is JSON whatever its label.
 */
import { ProxyError } from "../core/errors.ts";

/** Deepest nesting accepted; real requests (tool schemas included) stay far below it. */
export const MAX_JSON_DEPTH = 100;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes and parses a request body. Throws an `invalid_request` ProxyError with a clear message. */
export function parseJsonBody(body: Buffer): unknown {
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch {
    throw new ProxyError("invalid_request", "The request body is not valid UTF-8.");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProxyError("invalid_request", "We could not parse the JSON body of your request.");
  }
  const problem = shapeProblem(value, MAX_JSON_DEPTH);
  if (problem !== undefined) throw new ProxyError("invalid_request", problem);
  return value;
}

/**
 * Why `value` is refused, if it is: nesting deeper than `limit`, or a `__proto__` key (JSON.parse keeps it as a
 * plain key, but copying it onto another object, as the extra-body passthrough does, would set a prototype).
 * Iterative: the point is not to recurse on hostile input.
 */
function shapeProblem(value: unknown, limit: number): string | undefined {
  const stack: { readonly value: unknown; readonly depth: number }[] = [{ value, depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (typeof item.value !== "object" || item.value === null) continue;
    const depth = item.depth + 1;
    if (depth > limit) return `The JSON body nests deeper than ${limit} levels.`;
    if (!Array.isArray(item.value) && Object.hasOwn(item.value, "__proto__")) {
      return "The JSON body contains a forbidden key: __proto__.";
    }
    const children: unknown[] = Array.isArray(item.value) ? item.value : Object.values(item.value);
    for (const child of children)
      if (typeof child === "object" && child !== null) stack.push({ value: child, depth });
  }
  return undefined;
}
