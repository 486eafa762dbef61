/**
 * Cooldown of failing deployments. After `failures` consecutive failures a deployment is skipped for
 * `durationMs`; then exactly one request probes it, and only a success gives it full traffic again.
 */

/** What routing needs to know about a deployment right now. */
export type DeploymentState = "healthy" | "probe-ready" | "cooling";

/** Tracks every deployment of one runtime. */
export interface DeploymentHealth {
  stateOf(key: string, now: number): DeploymentState;
  /** Call before attempting a deployment in `probe-ready` state: later callers see it as cooling. */
  beginProbe(key: string): void;
  recordSuccess(key: string): void;
  recordFailure(key: string, now: number): void;
}

/**
 * Wraps a runtime's deployment health with its cooldown settings, e.g. to share cooldowns with other replicas
 * (src/routing/shared-cooldowns.ts).
 */
export type HealthDecorator = (
  health: DeploymentHealth,
  cooldown: { readonly failures: number; readonly durationMs: number },
) => DeploymentHealth;

interface Entry {
  consecutiveFailures: number;
  coolUntil: number;
  probing: boolean;
}

/** Creates the tracker. */
export function createDeploymentHealth(options: { failures: number; durationMs: number }): DeploymentHealth {
  const entries = new Map<string, Entry>();
  return {
    stateOf(key, now) {
      const entry = entries.get(key);
      if (entry === undefined || entry.coolUntil === 0) return "healthy";
      if (now < entry.coolUntil || entry.probing) return "cooling";
      return "probe-ready";
    },
    beginProbe(key) {
      const entry = entries.get(key);
      if (entry !== undefined) entry.probing = true;
    },
    recordSuccess(key) {
      entries.delete(key);
    },
    recordFailure(key, now) {
      const entry = entries.get(key) ?? { consecutiveFailures: 0, coolUntil: 0, probing: false };
      entry.consecutiveFailures += 1;
      // A failed probe cools the deployment down again at once.
      if (entry.probing || entry.consecutiveFailures >= options.failures)
        entry.coolUntil = now + options.durationMs;
      entry.probing = false;
      entries.set(key, entry);
    },
  };
}
