/** Small statistics helpers: percentiles of one run, medians across rounds. */
import type { Percentiles } from "./protocol.ts";

/** Nearest-rank percentiles of the samples (milliseconds); zeros when there are none. */
export function percentiles(samples: Float64Array): Percentiles {
  if (samples.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1] ?? 0,
    mean: sum / sorted.length,
  };
}

/** Median of the finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const finite = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const middle = finite.length >> 1;
  const upper = finite[middle] ?? Number.NaN;
  return finite.length % 2 === 1 ? upper : ((finite[middle - 1] ?? upper) + upper) / 2;
}

/** A growable Float64Array of samples, to avoid boxing tens of thousands of numbers. */
export class SampleBuffer {
  private data = new Float64Array(4096);
  private size = 0;

  push(value: number): void {
    if (this.size === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.size++] = value;
  }

  values(): Float64Array {
    return this.data.subarray(0, this.size);
  }
}
