/**
 * A count over the last 60 seconds in per-second buckets: adding and reading cost a few array writes, whatever
 * the rate, and memory is fixed. Buckets expire lazily when the window is next touched.
 */

const SECONDS = 60;

export class RollingWindow {
  /** The count of each second, at index `second % 60`. */
  private readonly counts = new Float64Array(SECONDS);
  /** The newest second the buckets have been advanced to. */
  private newest = Number.NEGATIVE_INFINITY;
  private sum = 0;

  /** The total over the minute ending at `nowMs`. */
  used(nowMs: number): number {
    this.advance(Math.floor(nowMs / 1000));
    return this.sum;
  }

  add(amount: number, nowMs: number): void {
    const second = this.advance(Math.floor(nowMs / 1000));
    this.counts[second % SECONDS] = (this.counts[second % SECONDS] ?? 0) + amount;
    this.sum += amount;
  }

  /** Milliseconds until enough of the oldest buckets expire for the total to drop below `limit` (0: it is below). */
  msUntilBelow(limit: number, nowMs: number): number {
    const now = this.advance(Math.floor(nowMs / 1000));
    let remaining = this.sum;
    if (remaining < limit) return 0;
    for (let second = now - SECONDS + 1; second <= now; second++) {
      remaining -= this.counts[second % SECONDS] ?? 0;
      if (remaining < limit) return Math.max(0, (second + SECONDS) * 1000 - nowMs);
    }
    return Math.max(0, (now + SECONDS) * 1000 - nowMs);
  }

  /** Milliseconds until every bucket now counted has expired: the window is back to its full limit (OpenAI's reset). */
  msUntilEmpty(nowMs: number): number {
    const now = this.advance(Math.floor(nowMs / 1000));
    if (this.sum === 0) return 0;
    for (let second = now; second > now - SECONDS; second--) {
      if ((this.counts[second % SECONDS] ?? 0) !== 0) return Math.max(0, (second + SECONDS) * 1000 - nowMs);
    }
    return 0;
  }

  /** Clears the buckets that left the window; returns the current second (never earlier than one already seen). */
  private advance(second: number): number {
    if (second <= this.newest) return this.newest;
    if (second - this.newest >= SECONDS) {
      this.counts.fill(0);
      this.sum = 0;
    } else {
      for (let expired = this.newest + 1; expired <= second; expired++) {
        const index = expired % SECONDS;
        this.sum -= this.counts[index] ?? 0;
        this.counts[index] = 0;
      }
    }
    this.newest = second;
    return second;
  }
}
