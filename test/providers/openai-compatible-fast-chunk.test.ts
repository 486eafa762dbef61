/**
 * The hand-written fast check of stream events and completions must accept a subset of what the zod schemas
 * accept (zod stays the trust boundary), and must accept the common shapes real vendors send (or it saves
 * nothing). Random mutations of real shapes probe the edges: wrong types, nulls, arrays for objects, fractional,
 * negative and infinite numbers.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readCommonChunk, readCommonCompletion } from "../../src/providers/openai-compatible/fast-chunk.ts";
import {
  openAIChunkSchema,
  openAICompletionSchema,
  openAILogprobsSchema,
  openAIUrlCitationSchema,
} from "../../src/providers/openai-compatible/wire.ts";
import { mulberry32 } from "../helpers/seeded-random.ts";

const FIXTURES = new URL("../fixtures/openai-compatible/", import.meta.url);

/** Every JSON `data:` payload of the recorded streams. */
function recordedEvents(): unknown[] {
  const events: unknown[] = [];
  for (const file of readdirSync(FIXTURES).filter((name) => name.endsWith(".sse"))) {
    for (const line of readFileSync(new URL(file, FIXTURES), "utf8").split(/\r?\n/)) {
      if (!line.startsWith("data:")) continue;
      try {
        events.push(JSON.parse(line.slice(5)));
      } catch {
        // malformed.sse carries a broken event on purpose.
      }
    }
  }
  return events;
}

const ODD_VALUES: readonly unknown[] = [
  undefined,
  null,
  "",
  "text",
  0,
  1,
  -1,
  1.5,
  2 ** 60,
  Number.POSITIVE_INFINITY,
  true,
  [],
  [1],
  {},
  { index: 0 },
  { content: 1 },
  [{ index: 0 }],
  [{ index: -1 }],
  [{ index: 0, function: { name: 1 } }],
];

/** Every path to an object member or array element of `value`. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== "object" || value === null) return [];
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

/** A deep copy of `value` with the member at `path` replaced (or removed, for undefined). */
function mutated(value: unknown, path: readonly (string | number)[], replacement: unknown): unknown {
  const copy: unknown = structuredClone(value);
  let parent = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  if (replacement === undefined && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

type Json = Record<string, unknown>;

/**
 * The schemas drop malformed logprobs, annotations, fingerprints and tiers (`catch`) instead of failing, so
 * "zod accepts" says nothing about them: what the fast check lets through must also pass their strict forms.
 */
function expectStrictExtras(value: unknown): void {
  const json = value as Json;
  for (const key of ["system_fingerprint", "service_tier"]) {
    expect(json[key] == null || typeof json[key] === "string", key).toBe(true);
  }
  for (const choice of (json.choices ?? []) as Json[]) {
    if (choice.logprobs != null) {
      expect(openAILogprobsSchema.safeParse(choice.logprobs).success, JSON.stringify(choice.logprobs)).toBe(
        true,
      );
    }
    const said = (choice.delta ?? choice.message) as Json | null | undefined;
    for (const annotation of (said?.annotations ?? []) as unknown[]) {
      expect(openAIUrlCitationSchema.safeParse(annotation).success, JSON.stringify(annotation)).toBe(true);
    }
  }
}

function fuzz(
  bases: readonly unknown[],
  fast: (value: unknown) => unknown,
  schema: { safeParse(value: unknown): { success: boolean } },
  seed: number,
): { accepted: number; checked: number } {
  const random = mulberry32(seed);
  let accepted = 0;
  let checked = 0;
  for (let round = 0; round < 4000; round++) {
    let value = bases[Math.floor(random() * bases.length)];
    for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
      const paths = pathsOf(value);
      if (paths.length === 0) break;
      const path = paths[Math.floor(random() * paths.length)] as (string | number)[];
      value = mutated(value, path, ODD_VALUES[Math.floor(random() * ODD_VALUES.length)]);
    }
    checked += 1;
    if (fast(value) === undefined) continue;
    accepted += 1;
    expect(schema.safeParse(value).success, JSON.stringify(value)).toBe(true);
    expectStrictExtras(value);
  }
  return { accepted, checked };
}

describe("fast stream event check", () => {
  const events = recordedEvents();

  it("accepts every recorded event zod accepts that carries no error", () => {
    const plain = events.filter(
      (event) => openAIChunkSchema.safeParse(event).success && (event as { error?: unknown }).error == null,
    );
    expect(plain.length).toBeGreaterThan(100);
    for (const event of plain) expect(readCommonChunk(event), JSON.stringify(event)).toBe(event);
  });

  it("leaves error events to zod", () => {
    expect(readCommonChunk({ error: { message: "boom" } })).toBeUndefined();
    expect(readCommonChunk({ choices: [], error: "boom" })).toBeUndefined();
  });

  it("accepts only what the schema accepts, under random mutations", () => {
    const { accepted, checked } = fuzz(events, readCommonChunk, openAIChunkSchema, 7);
    // Both sides of the line are exercised.
    expect(accepted).toBeGreaterThan(checked / 10);
    expect(accepted).toBeLessThan(checked);
  });
});

describe("fast completion check", () => {
  const completion: unknown = JSON.parse(readFileSync(new URL("completion.json", FIXTURES), "utf8"));
  const fidelity: unknown = JSON.parse(readFileSync(new URL("fidelity.json", FIXTURES), "utf8"));
  const withTools = {
    id: "chatcmpl-1",
    model: "m",
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: null,
          reasoning_content: "thinking",
          tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        finish_reason: "tool_calls",
      },
    ],
    usage: {
      prompt_tokens: 1,
      completion_tokens: 2,
      total_tokens: 3,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 1 },
    },
  };

  it("accepts the common completion shapes", () => {
    expect(openAICompletionSchema.safeParse(completion).success).toBe(true);
    expect(readCommonCompletion(completion)).toBe(completion);
    expect(readCommonCompletion(withTools)).toBe(withTools);
    expect(readCommonCompletion(fidelity)).toBe(fidelity);
  });

  it("accepts only what the schema accepts, under random mutations", () => {
    const { accepted, checked } = fuzz(
      [completion, withTools, fidelity],
      readCommonCompletion,
      openAICompletionSchema,
      11,
    );
    expect(accepted).toBeGreaterThan(checked / 10);
    expect(accepted).toBeLessThan(checked);
  });
});
