/**
 * Issue 4 row 4 (load balancing) through real sockets: a model_config list with weights spreads traffic over
 * two vendors in proportion; a deployment that keeps failing is cooled down (no traffic at all), then exactly
 * one request probes it and only a success gives it full traffic again; `connector.limit_per_host` caps the
 * requests in flight to one vendor (the rest queue in the pool).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FaultUpstream, startFaultUpstream, waitFor } from "../helpers/fault-upstream.ts";
import { openAIClient, sdkComplete } from "../helpers/resilience-clients.ts";
import { mulberry32 } from "../helpers/seeded-random.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

let heavy: FaultUpstream;
let light: FaultUpstream;
const gateways: RunningServer[] = [];

beforeAll(async () => {
  [heavy, light] = await Promise.all([startFaultUpstream(), startFaultUpstream()]);
});
afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.close()));
  await Promise.all([heavy?.close(), light?.close()]);
});
afterEach(() => {
  for (const mock of [heavy, light]) {
    mock.clear();
    mock.script([]);
  }
});

async function gateway(yaml: string, random?: () => number): Promise<RunningServer> {
  const started = await startServer(
    `providers:
  heavy: {type: openai, base_url: "${heavy.baseUrl}"}
  light: {type: openai, base_url: "${light.baseUrl}"}
${yaml}`,
    random === undefined ? {} : { random },
  );
  gateways.push(started);
  return started;
}

/** Sends `count` requests, `parallel` at a time; every one must succeed. */
async function send(server: RunningServer, count: number, parallel = 1): Promise<void> {
  const client = openAIClient(server.url);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const result = await sdkComplete(client, "chat");
      expect(result.text).toBe("Hello from the mock");
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

describe("weights", () => {
  it("a 3:1 weighted model sends about three quarters of the traffic to the heavy vendor", async () => {
    // A seeded draw: the gateway takes two numbers per request whatever the order in which the parallel requests
    // arrive, so the split is the same on every run (an unseeded one fell outside ±0.1 about once in a thousand).
    const server = await gateway(
      `model_config:
  chat: [{provider: heavy, weight: 3}, {provider: light, weight: 1}]`,
      mulberry32(7),
    );
    await send(server, 200, 10);
    const share = heavy.requests.length / 200;
    expect(heavy.requests.length + light.requests.length).toBe(200);
    expect(share).toBeGreaterThan(0.65);
    expect(share).toBeLessThan(0.85);
  });
});

describe("cooldown", () => {
  // random 0.99 ranks equal weights in config order (heavy first while healthy), so every step is deterministic.
  const config = `model_config: {chat: [heavy, light]}
proxy: {max_retries: 2, cooldown: {failures: 2, seconds: 0.4}}`;

  it("cools a failing vendor down, then one probe request restores it", async () => {
    const server = await gateway(config, () => 0.99);
    heavy.script(() => ({ kind: "error", status: 503 }));
    // Two failures (each request rotates to the light vendor at once, without backoff).
    await send(server, 2);
    expect(heavy.requests).toHaveLength(2);
    expect(light.requests).toHaveLength(2);
    // Cooling: the heavy vendor gets no traffic at all.
    await send(server, 5);
    expect(heavy.requests).toHaveLength(2);
    expect(light.requests).toHaveLength(7);
    // The vendor recovers; after the cooldown the next request probes it, and it takes traffic again.
    heavy.script([]);
    await new Promise((resolve) => setTimeout(resolve, 450));
    await send(server, 3);
    expect(heavy.requests).toHaveLength(5);
    expect(light.requests).toHaveLength(7);
  });

  it("a failed probe cools the vendor down again at once", async () => {
    const server = await gateway(config, () => 0.99);
    heavy.script(() => ({ kind: "error", status: 503 }));
    await send(server, 2);
    await new Promise((resolve) => setTimeout(resolve, 450));
    heavy.clear();
    light.clear();
    // One probe fails (the request is served by the light vendor), and the next requests skip heavy again.
    await send(server, 4);
    expect(heavy.requests).toHaveLength(1);
    expect(light.requests).toHaveLength(4);
  });

  it("while cooling, one probe at a time: concurrent requests do not all hit the recovering vendor", async () => {
    const server = await gateway(config, () => 0.99);
    heavy.script(() => ({ kind: "error", status: 503 }));
    await send(server, 2);
    await new Promise((resolve) => setTimeout(resolve, 450));
    heavy.clear();
    // The probe is slow; nine requests arriving meanwhile go to the light vendor.
    heavy.script([{ kind: "stream", headersDelayMs: 200 }]);
    await send(server, 10, 10);
    expect(heavy.requests).toHaveLength(1);
  });
});

describe("connector.limit_per_host", () => {
  it("caps the requests in flight to one vendor; the rest wait in the pool and still succeed", async () => {
    const server = await gateway(`model_config: {chat: heavy}
connector: {limit_per_host: 5}`);
    heavy.script(() => ({ kind: "stream", headersDelayMs: 150 }));
    const started = performance.now();
    await send(server, 10, 10);
    await waitFor(() => heavy.inFlight() === 0);
    expect(heavy.maxInFlight()).toBe(5);
    expect(performance.now() - started).toBeGreaterThanOrEqual(295);
  });
});
