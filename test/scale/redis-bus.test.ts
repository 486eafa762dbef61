/**
 * The pub/sub between replicas (cooldowns, key changes) on the shared Redis, with a channel prefix of its own:
 * a message reaches every other replica well within a second, never its sender, and malformed ones are dropped.
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { createRedisBus, type RedisBus } from "../../src/governance/redis-bus.ts";
import { redisClientOptions } from "../../src/governance/redis-link.ts";
import { SHARED_REDIS_URL, testPrefix } from "../helpers/redis-server.ts";

const opened: { bus: RedisBus; client: Redis }[] = [];
afterEach(async () => {
  for (const { bus, client } of opened.splice(0)) {
    await bus.close();
    client.disconnect();
  }
});

async function replica(prefix: string): Promise<RedisBus> {
  const client = new Redis(SHARED_REDIS_URL, redisClientOptions());
  await new Promise<void>((resolve) => client.once("ready", () => resolve()));
  const bus = createRedisBus({ client, prefix });
  opened.push({ bus, client });
  return bus;
}

describe("Redis bus between replicas", () => {
  it("delivers a message to the others within a second, not to its sender", async () => {
    const prefix = testPrefix();
    const [one, two, three] = [await replica(prefix), await replica(prefix), await replica(prefix)];
    const received: { at: string; body: unknown }[] = [];
    one.subscribe("keys", (body) => received.push({ at: "one", body }));
    two.subscribe("keys", (body) => received.push({ at: "two", body }));
    three.subscribe("keys", (body) => received.push({ at: "three", body }));
    // A subscription is live once Redis confirmed it; until then a message would go unheard.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sentAt = performance.now();
    one.publish("keys", { changed: true });
    while (received.length < 2 && performance.now() - sentAt < 1000)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(performance.now() - sentAt).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received.map((entry) => entry.at).sort()).toEqual(["three", "two"]);
    expect(received[0]?.body).toEqual({ changed: true });
  });

  it("drops messages that are not a replica's envelope", async () => {
    const prefix = testPrefix();
    const listener = await replica(prefix);
    const received: unknown[] = [];
    listener.subscribe("cooldowns", (body) => received.push(body));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const raw = new Redis(SHARED_REDIS_URL);
    await raw.publish(`${prefix}cooldowns`, "not json");
    await raw.publish(`${prefix}cooldowns`, JSON.stringify({ body: { key: "d" } }));
    await raw.publish(
      `${prefix}cooldowns`,
      JSON.stringify({ origin: "peer", body: { key: "d", remainingMs: 5 } }),
    );
    raw.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toEqual([{ key: "d", remainingMs: 5 }]);
  });
});
