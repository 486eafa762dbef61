/** The one test of "a JSON object" (not null, not an array) for code that walks JSON it did not validate. */
import type { JsonObject } from "./types.ts";

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
