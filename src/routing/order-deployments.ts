/**
 * The order in which one request tries a model's deployments: first a deployment whose cooldown just ended
 * (this request is its probe: a half-open circuit breaker; the caller marks it so no other request probes it
 * at the same time), then healthy ones in a weighted random order (each deployment's chance to go first is
 * proportional to its weight), then cooling ones as a last resort (better a likely failure than none).
 */
import type { DeploymentHealth } from "./deployment-health.ts";
import type { Deployment } from "./router.ts";

/** Orders the deployments for one request. */
export function orderDeployments(
  deployments: readonly Deployment[],
  health: DeploymentHealth,
  now: number,
  random: () => number,
): Deployment[] {
  if (deployments.length === 1) return [...deployments];
  // Fewer than two healthy deployments is the rare case; the common one allocates two small arrays.
  const healthy: { deployment: Deployment; rank: number }[] = [];
  const probeReady: Deployment[] = [];
  const cooling: Deployment[] = [];
  for (const deployment of deployments) {
    const state = health.stateOf(deployment.key, now);
    if (state === "healthy") {
      // Efraimidis–Spirakis: sorting by u^(1/w) gives a weighted random permutation.
      healthy.push({ deployment, rank: random() ** (1 / deployment.weight) });
    } else if (state === "probe-ready") probeReady.push(deployment);
    else cooling.push(deployment);
  }
  healthy.sort((left, right) => right.rank - left.rank);
  return [
    ...probeReady.slice(0, 1),
    ...healthy.map((entry) => entry.deployment),
    ...probeReady.slice(1),
    ...cooling,
  ];
}
