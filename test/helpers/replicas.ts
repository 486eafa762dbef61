/**
 * Several gateway processes on one config, as replicas behind a balancer, for the scale-out tests: started, and
 * polled until they all agree on an answer (a key made or revoked on one replica reaching the others).
 */
import { startGatewayProcess } from "./gateway-process.ts";

/** Starts `count` replicas on `configFile`, one after another; their ports, in order. */
export async function startReplicas(configFile: string, count: number): Promise<number[]> {
  const ports: number[] = [];
  // One after another: several starting at once on a busy two-core machine can miss the start timeout.
  for (let replica = 0; replica < count; replica++) {
    ports.push((await startGatewayProcess(["--config", configFile])).port);
  }
  return ports;
}

/**
 * Asks every replica (`ask(0)` … `ask(replicas - 1)`) in rounds until all answer `status`. Resolves with when, after
 * the call, the first round that found all so began: its requests were sent then, so it leaves out how long a
 * loaded machine takes to answer them. Throws when no round began within `timeoutMs` that did.
 */
export async function untilAllReplicas(
  replicas: number,
  ask: (replica: number) => Promise<{ readonly status: number }>,
  status: number,
  timeoutMs: number,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    const roundStart = performance.now() - started;
    const answers = await Promise.all(Array.from({ length: replicas }, (_, replica) => ask(replica)));
    if (answers.every((answer) => answer.status === status)) return roundStart;
    if (performance.now() - started > timeoutMs) {
      throw new Error(`not all ${status} after ${timeoutMs} ms: ${JSON.stringify(answers)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
