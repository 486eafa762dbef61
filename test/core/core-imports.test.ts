/**
 * The core reports what it does through its own observer interface (src/core/observer.ts) and imports nothing from
 * src/telemetry: tracing, metrics and the access line depend on the core, never the other way round. Every module
 * under src/core is parsed with TypeScript's own pre-processor, so static, type-only, re-export and dynamic
 * imports all count.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const CORE = join(ROOT, "src/core");
const TELEMETRY = join(ROOT, "src/telemetry");

/** The import specifiers of one module's source. */
function importsOf(source: string): string[] {
  const info = ts.preProcessFile(source, true, true);
  return info.importedFiles.map((file) => file.fileName);
}

/** The imports of `file` (a path under `from`) that land in src/telemetry, repo-relative. */
function telemetryImports(file: string, source: string): string[] {
  return importsOf(source)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => resolve(dirname(file), specifier))
    .filter((target) => target === TELEMETRY || target.startsWith(`${TELEMETRY}/`))
    .map((target) => relative(ROOT, target));
}

function coreModules(): string[] {
  return readdirSync(CORE, { recursive: true, encoding: "utf8" })
    .filter((name) => /\.(ts|mts|cts)$/.test(name))
    .map((name) => join(CORE, name));
}

describe("src/core imports nothing from src/telemetry", () => {
  it("finds every kind of import (the check below cannot pass by missing them)", () => {
    const file = join(CORE, "example.ts");
    const source = [
      'import { a } from "../telemetry/a.ts";',
      'import type { B } from "../telemetry/b.ts";',
      'export * from "../telemetry/c.ts";',
      'export { d } from "../telemetry/d.ts";',
      'const e = await import("../telemetry/e.ts");',
      'import { f } from "./f.ts";',
    ].join("\n");
    expect(telemetryImports(file, source)).toEqual([
      "src/telemetry/a.ts",
      "src/telemetry/b.ts",
      "src/telemetry/c.ts",
      "src/telemetry/d.ts",
      "src/telemetry/e.ts",
    ]);
  });

  it("no module under src/core imports from src/telemetry", () => {
    const modules = coreModules();
    expect(modules.length).toBeGreaterThan(10);
    expect(modules).toContain(join(CORE, "observer.ts"));
    const offending = modules.flatMap((file) =>
      telemetryImports(file, readFileSync(file, "utf8")).map(
        (target) => `${relative(ROOT, file)} → ${target}`,
      ),
    );
    expect(offending).toEqual([]);
  });
});
