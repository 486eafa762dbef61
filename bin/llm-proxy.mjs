#!/usr/bin/env node
// Runs the TypeScript entry directly: Node >= 24 strips types natively, so there is no build step. Plain
// JavaScript on purpose, so that an older Node (the machine's, when this file is run with `node` outside npm) gets
// a clear message instead of ERR_UNKNOWN_FILE_EXTENSION on src/main.ts.
import { readFileSync } from "node:fs";

const { engines } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const needed = engines.node
  .replace(/^>=\s*/, "")
  .split(".")
  .map(Number);
const running = process.versions.node.split(".").map(Number);
const older = needed.findIndex((part, index) => running[index] !== part);
if (older !== -1 && running[older] < needed[older]) {
  process.stderr.write(
    `llm-proxy: needs Node.js ${engines.node}, but ${process.execPath} is ${process.version}.\n` +
      "`npm ci` installs Node 24 into node_modules (the `node` devDependency); start through npm (`npm start`),\n" +
      "or with node_modules/.bin/node bin/llm-proxy.mjs.\n",
  );
  process.exit(1);
}
await import("../src/main.ts");
