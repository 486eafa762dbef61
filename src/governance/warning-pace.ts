/**
 * The pace of a warning that a failing store would otherwise log on every request or batch: the first one at
 * once, then at most one per interval, so a long outage leaves a few lines a minute and not thousands.
 */

/** Returns a function that says whether to warn now: true at most once per `everyMs` (performance.now clock). */
export function warningPace(everyMs: number): () => boolean {
  let lastWarning = Number.NEGATIVE_INFINITY;
  return () => {
    const now = performance.now();
    if (now - lastWarning < everyMs) return false;
    lastWarning = now;
    return true;
  };
}
