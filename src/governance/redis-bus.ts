/**
 * Redis pub/sub between the replicas of one gateway: deployment cooldowns (`llm-proxy:cooldowns`) and key changes
 * (`llm-proxy:keys`). Publishing goes through the shared link's client, fire and forget (a message lost while
 * Redis is down costs a peer a few failed attempts, or a key change seen at the key cache's next poll). Receiving
 * needs a connection of its own (a subscribed connection can do nothing else); it queues its SUBSCRIBE until
 * connected and subscribes again after every reconnect.
 *
 * Every message carries the sender's id, so a replica ignores its own.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";

export const COOLDOWN_CHANNEL = "cooldowns";
export const KEYS_CHANNEL = "keys";

export interface RedisBus {
  /** This process's id in the messages it sends. */
  readonly origin: string;
  /** Sends `body` to every other replica on `channel` (fire and forget). */
  publish(channel: string, body: Record<string, unknown>): void;
  /** Calls `listener` with each other replica's message on `channel`; returns the unsubscribe function. */
  subscribe(channel: string, listener: (body: unknown) => void): () => void;
  close(): Promise<void>;
}

const envelopeSchema = z.object({ origin: z.string(), body: z.unknown() });

export interface RedisBusOptions {
  /** The shared client (publishes); a duplicate of it subscribes. */
  readonly client: Redis;
  /** Channel prefix, as the counters' key prefix (default `llm-proxy:`). */
  readonly prefix?: string;
}

export function createRedisBus(options: RedisBusOptions): RedisBus {
  const prefix = options.prefix ?? "llm-proxy:";
  const origin = randomBytes(8).toString("hex");
  const publisher = options.client;
  const subscriber = publisher.duplicate({ enableOfflineQueue: true, autoResubscribe: true });
  subscriber.on("error", () => {});
  const listeners = new Map<string, Set<(body: unknown) => void>>();
  subscriber.on("message", (channel: string, text: string) => {
    const wanted = listeners.get(channel);
    if (wanted === undefined) return;
    let envelope: z.infer<typeof envelopeSchema>;
    try {
      const parsed = envelopeSchema.safeParse(JSON.parse(text));
      if (!parsed.success) return;
      envelope = parsed.data;
    } catch {
      return;
    }
    if (envelope.origin === origin) return;
    for (const listener of [...wanted]) listener(envelope.body);
  });
  return {
    origin,
    publish(channel, body) {
      publisher.publish(prefix + channel, JSON.stringify({ origin, body })).catch(() => {});
    },
    subscribe(channel, listener) {
      const name = prefix + channel;
      let set = listeners.get(name);
      if (set === undefined) {
        set = new Set();
        listeners.set(name, set);
        subscriber.subscribe(name).catch(() => {});
      }
      set.add(listener);
      return () => {
        set.delete(listener);
      };
    },
    async close() {
      listeners.clear();
      subscriber.disconnect(false);
    },
  };
}
