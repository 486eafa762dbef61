/**
 * Preload for `node --import`: records every @opentelemetry module the process loads (import or require) and
 * writes the list to $LLM_PROXY_TEST_MODULES_FILE when the process exits, so a test can tell which SDK parts ran.
 */
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";

const file = process.env.LLM_PROXY_TEST_MODULES_FILE;
const loaded = new Set<string>();

if (file !== undefined) {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      const match = /node_modules\/(@opentelemetry\/[^/]+)\//.exec(resolved.url);
      if (match?.[1] !== undefined) loaded.add(match[1]);
      return resolved;
    },
  });
  process.on("exit", () => writeFileSync(file, JSON.stringify([...loaded].sort())));
}
