/**
 * The gateway process with `server.workers` set, for the tests of its cluster: every JSON log line as it comes
 * (the primary's and each worker's, a worker's lines carrying its pid), and the port the workers share.
 */
import { type GatewayChild, listeningPort, spawnGateway, waitForGateway } from "./gateway-process.ts";

export interface WorkersGateway {
  readonly gateway: GatewayChild;
  readonly port: number;
  /** Parsed JSON log lines, appended as they arrive. */
  readonly lines: Record<string, unknown>[];
}

/** The pids of the workers that logged ready in `lines`, killed ones included (the primary logs with primaryPid). */
export function readyWorkerPids(lines: readonly Record<string, unknown>[]): Set<number> {
  return new Set(lines.filter((line) => line.msg === "llm-proxy ready").map((line) => Number(line.pid)));
}

/** Starts the entry on `configFile` on 127.0.0.1, port from the OS; resolves once `workers` workers are ready. */
export async function startWorkersGateway(configFile: string, workers: number): Promise<WorkersGateway> {
  const lines: Record<string, unknown>[] = [];
  const gateway = spawnGateway(["--config", configFile, "--host", "127.0.0.1", "--port", "0"], {
    onLine: (line) => {
      if (line.startsWith("{")) lines.push(JSON.parse(line));
    },
  });
  await waitForGateway(gateway, () => readyWorkerPids(lines).size === workers, `${workers} workers ready`);
  const port = listeningPort(lines.map((line) => String(line.msg ?? ""))) ?? 0;
  return { gateway, port, lines };
}
