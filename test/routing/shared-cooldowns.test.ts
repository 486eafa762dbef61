/**
 * Shared cooldowns between replicas, with an in-process channel standing for Redis pub/sub: one replica's
 * cooldown makes the deployment cooling on the other for the announced time, and a success ends it everywhere.
 */
import { describe, expect, it } from "vitest";
import { createDeploymentHealth, type DeploymentHealth } from "../../src/routing/deployment-health.ts";
import { PeerCooldowns, shareCooldowns } from "../../src/routing/shared-cooldowns.ts";

const COOLDOWN = { failures: 2, durationMs: 30_000 };

/** Two replicas whose announcements reach each other at once; `clock` is both replicas' now. */
function twoReplicas(clock: { now: number }): [DeploymentHealth, DeploymentHealth, unknown[]] {
  const sent: unknown[] = [];
  const peers = [new PeerCooldowns(), new PeerCooldowns()];
  const replica = (self: number): DeploymentHealth =>
    shareCooldowns(
      createDeploymentHealth(COOLDOWN),
      peers[self] as PeerCooldowns,
      {
        announce: (key, remainingMs) => {
          sent.push({ from: self, key, remainingMs });
          peers[1 - self]?.receive({ key, remainingMs }, clock.now);
        },
      },
      { durationMs: COOLDOWN.durationMs, now: () => clock.now },
    );
  return [replica(0), replica(1), sent];
}

describe("shared deployment cooldowns", () => {
  it("a deployment cooled on one replica is cooling on the other until the announced time", () => {
    const clock = { now: 1_000_000 };
    const [one, two, sent] = twoReplicas(clock);
    one.recordFailure("openai/gpt-4o-mini", clock.now);
    expect(sent).toEqual([]);
    expect(two.stateOf("openai/gpt-4o-mini", clock.now)).toBe("healthy");
    one.recordFailure("openai/gpt-4o-mini", clock.now);
    expect(sent).toEqual([{ from: 0, key: "openai/gpt-4o-mini", remainingMs: 30_000 }]);
    expect(two.stateOf("openai/gpt-4o-mini", clock.now + 29_999)).toBe("cooling");
    expect(two.stateOf("anthropic/claude", clock.now)).toBe("healthy");
    // The probe stays with the replica that cooled it; the peer just goes back to healthy.
    expect(two.stateOf("openai/gpt-4o-mini", clock.now + 30_000)).toBe("healthy");
    expect(one.stateOf("openai/gpt-4o-mini", clock.now + 30_000)).toBe("probe-ready");
  });

  it("a success after a cooldown announces the recovery, which ends the peer's cooldown", () => {
    const clock = { now: 5_000 };
    const [one, two, sent] = twoReplicas(clock);
    one.recordFailure("d", clock.now);
    one.recordFailure("d", clock.now);
    expect(two.stateOf("d", clock.now + 10)).toBe("cooling");
    clock.now += 31_000;
    one.beginProbe("d");
    one.recordSuccess("d");
    expect(sent).toContainEqual({ from: 0, key: "d", remainingMs: 0 });
    expect(two.stateOf("d", clock.now)).toBe("healthy");
    // A success on a deployment nobody cooled announces nothing (the hot path stays quiet).
    const before = sent.length;
    two.recordSuccess("other");
    expect(sent).toHaveLength(before);
  });

  it("peers' malformed messages are ignored", () => {
    const peers = new PeerCooldowns();
    peers.receive({ key: "d", remainingMs: -5 }, 0);
    peers.receive({ key: 3, remainingMs: 10 }, 0);
    peers.receive("nonsense", 0);
    expect(peers.cooling("d", 1)).toBe(false);
    peers.receive({ key: "d", remainingMs: 1000 }, 0);
    expect(peers.cooling("d", 999)).toBe(true);
  });
});
