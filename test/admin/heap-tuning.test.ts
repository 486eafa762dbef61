import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { heapGrowingFlag } from "../../src/admin/heap-tuning.ts";

describe("server.heap_growing_percent", () => {
  it("becomes V8's --heap-growing-percent unless it is 0", () => {
    expect(heapGrowingFlag(20, [])).toBe("--heap-growing-percent=20");
    expect(heapGrowingFlag(0, [])).toBeUndefined();
  });

  it("yields to a --heap-growing-percent given to node itself, in either spelling", () => {
    expect(heapGrowingFlag(20, ["--heap-growing-percent=50"])).toBeUndefined();
    expect(heapGrowingFlag(20, ["--heap_growing_percent", "50"])).toBeUndefined();
    expect(heapGrowingFlag(20, ["--heap-growing-percentage=50"])).toBe("--heap-growing-percent=20");
  });

  it("is a flag V8 takes from a running process", () => {
    // V8 prints "Error: unrecognized flag" for a flag it does not know; a known one is silent.
    const script = `require("node:v8").setFlagsFromString(${JSON.stringify(heapGrowingFlag(20, []))}); console.log("set")`;
    const result = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe("set");
    expect(result.stderr).toBe("");
  });
});
