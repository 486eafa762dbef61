import { describe, expect, it } from "vitest";
import { convertToGeminiParameters, convertToGeminiSchema } from "../../src/providers/gemini/json-schema.ts";

describe("convertToGeminiSchema", () => {
  it("drops keywords Gemini rejects and keeps the ones it accepts", () => {
    expect(
      convertToGeminiSchema({
        $schema: "https://json-schema.org/draft/2020-12/schema",
        $id: "urn:x",
        $comment: "internal",
        type: "object",
        title: "Query",
        description: "A search.",
        properties: {
          q: {
            type: "string",
            minLength: 1,
            maxLength: 200,
            pattern: "^\\w+$",
            default: "a",
            examples: ["b"],
          },
          n: {
            type: "integer",
            minimum: 1,
            maximum: 50,
            exclusiveMinimum: 0,
            multipleOf: 1,
            format: "int32",
          },
          tags: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 5, uniqueItems: true },
        },
        required: ["q"],
        additionalProperties: false,
        patternProperties: { "^x-": { type: "string" } },
        not: { required: ["z"] },
        if: { properties: { n: { const: 1 } } },
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, which must be dropped.
        then: { required: ["tags"] },
      }),
    ).toEqual({
      type: "object",
      title: "Query",
      description: "A search.",
      properties: {
        q: { type: "string", minLength: 1, maxLength: 200, pattern: "^\\w+$" },
        n: { type: "integer", format: "int32", minimum: 1, maximum: 50 },
        tags: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 5 },
      },
      required: ["q"],
    });
  });

  it("turns nullable type lists and null alternatives into nullable", () => {
    expect(
      convertToGeminiSchema({
        type: "object",
        properties: {
          a: { type: ["string", "null"] },
          b: { anyOf: [{ type: "integer" }, { type: "null" }], description: "maybe" },
          c: { oneOf: [{ type: "string" }, { type: "number" }] },
          d: { type: ["string", "number"] },
        },
      }),
    ).toEqual({
      type: "object",
      properties: {
        a: { type: "string", nullable: true },
        b: { type: "integer", nullable: true, description: "maybe" },
        c: { anyOf: [{ type: "string" }, { type: "number" }] },
        d: { anyOf: [{ type: "string" }, { type: "number" }] },
      },
    });
  });

  it("keeps only formats and enums Gemini accepts", () => {
    expect(
      convertToGeminiSchema({
        type: "object",
        properties: {
          when: { type: "string", format: "date-time" },
          mail: { type: "string", format: "email" },
          ratio: { type: "number", format: "double" },
          size: { type: "string", enum: ["s", "m"] },
          level: { type: "integer", enum: [1, 2] },
          kind: { const: "fixed" },
        },
      }),
    ).toEqual({
      type: "object",
      properties: {
        when: { type: "string", format: "date-time" },
        mail: { type: "string" },
        ratio: { type: "number", format: "double" },
        size: { type: "string", enum: ["s", "m"] },
        level: { type: "integer" },
        kind: { enum: ["fixed"] },
      },
    });
  });

  it("inlines local $refs and stops at recursion", () => {
    expect(
      convertToGeminiSchema({
        type: "object",
        properties: {
          home: { $ref: "#/$defs/address", description: "Where they live." },
          tree: { $ref: "#/definitions/node" },
          other: { $ref: "https://schemas.test/remote.json" },
        },
        $defs: { address: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
        definitions: {
          node: {
            type: "object",
            properties: { value: { type: "string" }, child: { $ref: "#/definitions/node" } },
          },
        },
      }),
    ).toEqual({
      type: "object",
      properties: {
        home: {
          type: "object",
          properties: { city: { type: "string" } },
          required: ["city"],
          description: "Where they live.",
        },
        tree: { type: "object", properties: { value: { type: "string" }, child: { type: "object" } } },
        other: { type: "object" },
      },
    });
  });

  it("merges allOf members and drops empty object properties and unknown required names", () => {
    expect(
      convertToGeminiSchema({
        allOf: [
          { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
          { properties: { b: { type: "object", properties: {} } }, required: ["b", "ghost"] },
        ],
      }),
    ).toEqual({
      type: "object",
      properties: { a: { type: "string" }, b: { type: "object" } },
      required: ["a", "b"],
    });
  });

  it("uses the first schema of a tuple-style items list", () => {
    expect(convertToGeminiSchema({ type: "array", items: [{ type: "number" }, { type: "string" }] })).toEqual(
      {
        type: "array",
        items: { type: "number" },
      },
    );
  });
});

describe("convertToGeminiParameters", () => {
  it("sends no parameters for tools without arguments", () => {
    expect(convertToGeminiParameters(undefined)).toBeUndefined();
    expect(convertToGeminiParameters({ type: "object" })).toBeUndefined();
    expect(
      convertToGeminiParameters({ type: "object", properties: {}, additionalProperties: false }),
    ).toBeUndefined();
  });

  it("cleans a schema with properties", () => {
    expect(
      convertToGeminiParameters({
        type: "object",
        properties: { x: { type: "string" } },
        additionalProperties: false,
      }),
    ).toEqual({ type: "object", properties: { x: { type: "string" } } });
  });
});
