/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench -- --cpu-prof`, or `node --cpu-prof`): self time by
 * function, self time by module group (a package under node_modules, a file under src/, node internals), and
 * inclusive time of the project's own functions.
 *
 * Usage: `node bench/profile-summary.ts FILE.cpuprofile [--top 25]`.
 * @see https://chromedevtools.github.io/devtools-protocol/tot/Profiler/#type-Profile
 */
import { readFileSync } from "node:fs";
import { readFlags } from "./lib/protocol.ts";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
}

function isProfile(value: unknown): value is Profile {
  return typeof value === "object" && value !== null && Array.isArray((value as { nodes?: unknown }).nodes);
}

function group(url: string, name: string): string {
  if (url === "") return name.startsWith("(") ? name : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1] !== undefined) return pkg[1];
  const src = /\/(src|bench|gen)\/(.+)$/.exec(url);
  if (src?.[1] !== undefined) return `${src[1]}/${src[2]}`;
  if (url.startsWith("node:")) return url.split("/")[0] ?? url;
  return url;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || "(anonymous)"} ${group(url, functionName)}:${lineNumber + 1}`;
}

function top(map: Map<string, number>, count: number, totalMs: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([key, ms]) =>
        `${ms.toFixed(1).padStart(9)} ms ${((ms * 100) / totalMs).toFixed(1).padStart(5)}%  ${key}`,
    );
}

function add(map: Map<string, number>, key: string, ms: number): void {
  map.set(key, (map.get(key) ?? 0) + ms);
}

function main(): void {
  const argv = process.argv.slice(2);
  const file = argv.find((arg) => !arg.startsWith("--"));
  if (file === undefined) throw new Error("usage: node bench/profile-summary.ts FILE.cpuprofile [--top N]");
  const count = Number(readFlags(argv).get("top") ?? "25");
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (!isProfile(parsed)) throw new Error(`${file} is not a V8 CPU profile`);
  const totalSamples =
    parsed.samples?.length ?? parsed.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const msPerSample = (parsed.endTime - parsed.startTime) / 1000 / Math.max(1, totalSamples);
  const byId = new Map(parsed.nodes.map((node) => [node.id, node]));
  const selfByFunction = new Map<string, number>();
  const selfByGroup = new Map<string, number>();
  const inclusiveOwn = new Map<string, number>();
  let busyMs = 0;
  // Inclusive time: walk the tree once; a function counts once per stack even when it recurses.
  const walk = (node: ProfileNode, onStack: Set<string>): number => {
    const self = (node.hitCount ?? 0) * msPerSample;
    const name = node.callFrame.functionName;
    if (name !== "(idle)" && name !== "(program)" && name !== "(garbage collector)") busyMs += self;
    if (name !== "(idle)") {
      add(selfByFunction, label(node), self);
      add(selfByGroup, group(node.callFrame.url, name), self);
    }
    const key = label(node);
    const own = /\/src\//.test(node.callFrame.url) && !onStack.has(key);
    if (own) onStack.add(key);
    let total = self;
    for (const child of node.children ?? []) {
      const next = byId.get(child);
      if (next !== undefined) total += walk(next, onStack);
    }
    if (own) {
      onStack.delete(key);
      add(inclusiveOwn, key, total);
    }
    return total;
  };
  const root = parsed.nodes[0];
  if (root !== undefined) walk(root, new Set());
  const totalMs = [...selfByGroup.values()].reduce((sum, ms) => sum + ms, 0);
  console.log(
    `${file}: ${totalMs.toFixed(0)} ms sampled (not idle), ${busyMs.toFixed(0)} ms in JS/native code\n`,
  );
  console.log(`self time by module:\n${top(selfByGroup, count, totalMs).join("\n")}\n`);
  console.log(`self time by function:\n${top(selfByFunction, count, totalMs).join("\n")}\n`);
  console.log(`inclusive time of src/ functions:\n${top(inclusiveOwn, count, totalMs).join("\n")}`);
}

main();
