/** The JSON Schema building blocks the OpenAPI component schemas share. */

/** A JSON Schema object. */
export type JsonSchema = Record<string, unknown>;

/** A reference to a component schema of the document. */
export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** The schema, or null. */
export const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: "null" }] });
