/**
 * Deployment cooldowns shared by replicas: a deployment that one replica cools down is skipped by the others
 * too, instead of each replica paying `cooldown.failures` failed requests to learn it. Each runtime's own
 * DeploymentHealth is wrapped: when a failure leaves a deployment cooling, the wrapper announces
 * (deployment key, remaining ms); peers' announcements make the deployment "cooling" here until then. A success
 * anywhere announces the deployment recovered, which ends peers' cooldowns of it.
 *
 * Remaining time rather than a wall-clock deadline travels, so replicas' clocks need not agree. Peer cooldowns
 * are per process, not per runtime, so they survive a config reload. The probe after a cooldown stays with the
 * replica that cooled the deployment: peers just skip it until told it recovered or until the time is up.
 */
import { z } from "zod";
import type { DeploymentHealth, DeploymentState } from "./deployment-health.ts";

/** How cooldowns reach the other replicas. */
export interface CooldownChannel {
  /** Tells the others `key` cools for `remainingMs` (0: it recovered). */
  announce(key: string, remainingMs: number): void;
}

/** A peer's message, as received (validated: it came over the network). */
export const cooldownMessageSchema = z.object({
  key: z.string().min(1).max(1000),
  remainingMs: z
    .number()
    .int()
    .min(0)
    .max(24 * 3_600_000),
});

/** Cooldowns announced by other replicas, for this whole process. */
export class PeerCooldowns {
  private readonly until = new Map<string, number>();

  /** Applies a peer's message received at `now`. */
  receive(message: unknown, now: number): void {
    const parsed = cooldownMessageSchema.safeParse(message);
    if (!parsed.success) return;
    if (parsed.data.remainingMs === 0) this.until.delete(parsed.data.key);
    else this.until.set(parsed.data.key, now + parsed.data.remainingMs);
  }

  /** Whether a peer said `key` is cooling at `now`. */
  cooling(key: string, now: number): boolean {
    if (this.until.size === 0) return false;
    const until = this.until.get(key);
    if (until === undefined) return false;
    if (now < until) return true;
    this.until.delete(key);
    return false;
  }

  /** Whether any peer cooldown of `key` is known (expired or not). */
  has(key: string): boolean {
    return this.until.has(key);
  }

  forget(key: string): void {
    this.until.delete(key);
  }
}

/** Wraps one runtime's health so its cooldowns are announced and peers' are honoured. */
export function shareCooldowns(
  inner: DeploymentHealth,
  peers: PeerCooldowns,
  channel: CooldownChannel,
  options: { readonly durationMs: number; readonly now: () => number },
): DeploymentHealth {
  return {
    stateOf(key, now): DeploymentState {
      const own = inner.stateOf(key, now);
      if (own !== "healthy") return own;
      return peers.cooling(key, now) ? "cooling" : "healthy";
    },
    beginProbe(key) {
      inner.beginProbe(key);
    },
    recordSuccess(key) {
      const recovered = inner.stateOf(key, options.now()) !== "healthy" || peers.has(key);
      inner.recordSuccess(key);
      if (!recovered) return;
      peers.forget(key);
      channel.announce(key, 0);
    },
    recordFailure(key, now) {
      inner.recordFailure(key, now);
      // Each failure past the threshold (or of a probe) restarts the cooldown: announce the new end.
      if (inner.stateOf(key, now) === "cooling") channel.announce(key, options.durationMs);
    },
  };
}
