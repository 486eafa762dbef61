/**
 * Redis for the scale tests: the shared server on 127.0.0.1:6379 (each test uses its own key prefix and deletes
 * its keys after), and private `redis-server` processes on ports from the OS for the fault tests, which stop and
 * restart them without disturbing anyone else. Nothing is persisted: a restarted private server starts empty.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { freePort } from "./free-port.ts";

export const SHARED_REDIS_URL = "redis://127.0.0.1:6379";
const REDIS_SERVER = process.env.REDIS_SERVER ?? "/usr/bin/redis-server";

/** A key prefix no other test uses. */
export function testPrefix(): string {
  return `llm-proxy-test:${randomBytes(6).toString("hex")}:`;
}

/** Deletes every key under `prefix` on `url`. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

/** A private redis-server that a test may stop and start again (empty each time) on the same port. */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  freeze(): void;
  /** Lets a frozen server go on (SIGCONT). */
  thaw(): void;
}

const running = new Set<ChildProcess>();

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const server: PrivateRedis = {
    port,
    url,
    async start() {
      child = spawn(
        REDIS_SERVER,
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        {
          stdio: "ignore",
        },
      );
      running.add(child);
      const started = child;
      started.once("exit", () => running.delete(started));
      const deadline = performance.now() + 5000;
      for (;;) {
        const probe = new Redis(url, {
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        probe.on("error", () => {});
        try {
          await probe.connect();
          await probe.ping();
          return;
        } catch (error) {
          if (performance.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        } finally {
          probe.disconnect();
        }
      }
    },
    freeze() {
      child?.kill("SIGSTOP");
    },
    thaw() {
      child?.kill("SIGCONT");
    },
    async stop() {
      const stopping = child;
      child = undefined;
      if (stopping === undefined || stopping.exitCode !== null) return;
      const exited = new Promise((resolve) => stopping.once("exit", resolve));
      stopping.kill("SIGKILL");
      await exited;
    },
  };
  await server.start();
  return server;
}

/** Kills every private server still running (afterAll). */
export function killPrivateRedis(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}
