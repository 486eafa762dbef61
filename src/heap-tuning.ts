/**
 * V8 settings for a request/response server, set from the process at start (V8 reads both at each collection, so
 * setting them before the first request works like passing them to node; measured the same both ways):
 *
 * - Allocation-site pretenuring is turned off. V8 sees a request's objects survive a scavenge (they are in flight
 *   while it runs) and starts allocating them straight in the old generation, where they die a few milliseconds
 *   later and pile up until a full collection. Measured with it off, CPU per request (JS thread and GC threads)
 *   is 90 instead of 121 µs non-streaming and 220 instead of 300 µs per 50-chunk stream, with no full collection
 *   in 40,000 requests (bench/README.md#v8-flags-for-the-gateway).
 * - `server.heap_growing_percent`: V8's heap growing factor over the live heap after a full collection, when set
 *   (0 keeps V8's own, up to 4 ×). A low factor keeps RSS closer to what is live when thousands of streams are
 *   open, at the price of many more full collections under load.
 *
 * A flag given to node itself (either spelling, either polarity) wins over these.
 */
import { setFlagsFromString } from "node:v8";

/** True when node was started with this V8 flag (`--name`, `--no-name`, `--name=…`; dashes or underscores). */
function givenToNode(name: string, execArgv: readonly string[]): boolean {
  const spelled = name.replaceAll("-", "[-_]");
  const pattern = new RegExp(`^--(no[-_])?${spelled}(=|$)`);
  return execArgv.some((arg) => pattern.test(arg));
}

/** The V8 flags to set, in order. */
export function heapTuningFlags(heapGrowingPercent: number, execArgv: readonly string[]): string[] {
  const flags: string[] = [];
  if (!givenToNode("allocation-site-pretenuring", execArgv)) flags.push("--no-allocation-site-pretenuring");
  if (heapGrowingPercent !== 0 && !givenToNode("heap-growing-percent", execArgv)) {
    flags.push(`--heap-growing-percent=${heapGrowingPercent}`);
  }
  return flags;
}

/** Sets this process's V8 heap tuning. */
export function applyHeapTuning(heapGrowingPercent: number): void {
  for (const flag of heapTuningFlags(heapGrowingPercent, process.execArgv)) setFlagsFromString(flag);
}
