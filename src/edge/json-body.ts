/**
 * The JSON body parser of the JSON edges (OpenAI's chat facade, Responses), strict where JSON.parse is lenient:
 * the bytes must be valid UTF-8 (RFC 8259 §8.1; a lenient decoder would turn bad bytes into U+FFFD and forward
 * text the client never sent),
 * nesting is bounded, since a deep value passes validation as an extra field or a schema and would overflow the
 * stack when serialized for the upstream, and `__proto__` keys are refused as Fastify's own JSON parser does.
 * It replaces every parser in the edge's scope, application/json included: the body is JSON whatever its label.
 */
import { isUtf8 } from "node:buffer";
import type { FastifyInstance } from "fastify";
import { ProxyError } from "../core/errors.ts";
import { decodeRequestBody } from "./content-encoding.ts";

/** Deepest nesting accepted; real requests (tool schemas included) stay far below it. */
export const MAX_JSON_DEPTH = 100;

/** Decodes and parses a request body. Throws an `invalid_request` ProxyError with a clear message. */
export function parseJsonBody(body: Buffer): unknown {
  if (!isUtf8(body)) throw new ProxyError("invalid_request", "The request body is not valid UTF-8.");
  // A leading BOM is not JSON, but TextDecoder drops it by default, so clients may well send one: strip it.
  const text = body.toString("utf8", hasBom(body) ? 3 : 0);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProxyError("invalid_request", "We could not parse the JSON body of your request.");
  }
  if (mayBeRefused(text)) {
    const problem = shapeProblem(value, MAX_JSON_DEPTH);
    if (problem !== undefined) throw new ProxyError("invalid_request", problem);
  }
  return value;
}

function hasBom(body: Buffer): boolean {
  return body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
}

/**
 * Whether the parsed value must be walked: false when the text proves it cannot nest deeper than the limit (it
 * opens at most that many objects and arrays in all) nor hold a `__proto__` key (the name never appears, and no
 * `\u` escape could spell it). Typical requests skip the walk.
 */
function mayBeRefused(text: string): boolean {
  if (text.includes("__proto__") || text.includes("\\u")) return true;
  let opened = 0;
  for (let at = text.indexOf("{"); at !== -1; at = text.indexOf("{", at + 1)) {
    if (++opened > MAX_JSON_DEPTH) return true;
  }
  for (let at = text.indexOf("["); at !== -1; at = text.indexOf("[", at + 1)) {
    if (++opened > MAX_JSON_DEPTH) return true;
  }
  return false;
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

/**
 * Makes every body in `app`'s scope JSON, whatever its content type, decoded from its Content-Encoding first and
 * parsed by `parseJsonBody`. Many clients (curl -d, some SDK wrappers) omit or mislabel the content type.
 */
export function acceptJsonBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  // Compressed bodies are decoded before the parser, their decoded size held to body_limit.
  app.addHook("preParsing", decodeRequestBody);
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (error) {
      done(error as ProxyError);
    }
  });
}
