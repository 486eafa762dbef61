import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { heapTuningFlags } from "../src/heap-tuning.ts";

describe("V8 heap tuning at start", () => {
  it("turns allocation-site pretenuring off, and sets heap_growing_percent unless it is 0", () => {
    expect(heapTuningFlags(0, [])).toEqual(["--no-allocation-site-pretenuring"]);
    expect(heapTuningFlags(20, [])).toEqual([
      "--no-allocation-site-pretenuring",
      "--heap-growing-percent=20",
    ]);
  });

  it("yields to the same flags given to node itself, in either spelling or polarity", () => {
    expect(heapTuningFlags(20, ["--allocation-site-pretenuring", "--heap-growing-percent=50"])).toEqual([]);
    expect(heapTuningFlags(20, ["--no_allocation_site_pretenuring", "--heap_growing_percent", "50"])).toEqual(
      [],
    );
    expect(heapTuningFlags(20, ["--heap-growing-percentage=50", "--allocation-site-pretenuring-x"])).toEqual([
      "--no-allocation-site-pretenuring",
      "--heap-growing-percent=20",
    ]);
  });

  it("sets flags V8 takes from a running process", () => {
    // V8 writes "Error: unrecognized flag" to stderr for a flag it does not know; a known one is silent.
    const flags = JSON.stringify(heapTuningFlags(20, []));
    const script = `for (const flag of ${flags}) require("node:v8").setFlagsFromString(flag); console.log("set")`;
    const result = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe("set");
    expect(result.stderr).toBe("");
  });
});
