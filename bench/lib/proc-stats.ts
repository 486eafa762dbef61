/**
 * CPU time and memory of a process from Linux procfs: utime + stime from `/proc/<pid>/stat` (in clock ticks,
 * converted with CLK_TCK) and peak/current RSS from `/proc/<pid>/status`. Elsewhere the readers return
 * undefined and the report says "n/a".
 * @see https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond =
        Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 2000 }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU time consumed so far by the process, in microseconds. */
export function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces; fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1_000_000) / clockTicks() : undefined;
  } catch {
    return undefined;
  }
}

/** Peak (VmHWM) and current (VmRSS) resident set size, in MiB. */
export function memoryMiB(pid: number | undefined): { peak: number; current: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (name: string): number =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
    return { peak: kib("VmHWM") / 1024, current: kib("VmRSS") / 1024 };
  } catch {
    return undefined;
  }
}

/** The resolution of cpuMicros, in microseconds (one clock tick). */
export function cpuResolutionMicros(): number {
  return 1_000_000 / clockTicks();
}
