/**
 * The gateway process with `server.workers` set, for the tests of its cluster: every JSON log line as it comes
 * (the primary's and each worker's, a worker's lines carrying its pid), and the port the workers share.
 */
import { Agent, request } from "undici";
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

/** What to send in one chat request. */
export interface OwnConnectionChat {
  readonly model: string;
  readonly content?: string;
  /** Bearer key, when the gateway wants one. */
  readonly key?: string;
  /** Headers and body timeout of the request (default 10 s). */
  readonly timeoutMs?: number;
}

/** One chat request on a connection of its own, closed after, so the cluster may hand it to either worker. */
export async function chatOnOwnConnection(
  port: number,
  chat: OwnConnectionChat,
): Promise<{ readonly status: number; readonly body: string }> {
  const timeoutMs = chat.timeoutMs ?? 10_000;
  const dispatcher = new Agent({ pipelining: 0, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  try {
    const response = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      dispatcher,
      headers: {
        "content-type": "application/json",
        connection: "close",
        ...(chat.key === undefined ? {} : { authorization: `Bearer ${chat.key}` }),
      },
      body: JSON.stringify({
        model: chat.model,
        messages: [{ role: "user", content: chat.content ?? "hi workers" }],
      }),
    });
    return { status: response.statusCode, body: await response.body.text() };
  } finally {
    await dispatcher.close();
  }
}
