/**
 * What one pod of deploy/kubernetes/ runs, without a cluster: the gateway process started as the image's CMD would
 * start it, on the ConfigMap's config.yaml with the Secret's keys as its environment (the Deployment's envFrom).
 * Only the store URLs change (to the machine's Redis and a scratch PostgreSQL database), since the manifests point
 * at external servers. The probes' paths answer 200 on the container's port, the client key from the Secret opens
 * the API and the admin key opens /config, and SIGTERM ends the process with 0 well within
 * terminationGracePeriodSeconds.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { z } from "zod";
import {
  type GatewayChild,
  killGatewayProcesses,
  listeningPort,
  spawnGateway,
  waitForGateway,
  writeTempConfig,
} from "../helpers/gateway-process.ts";
import { createScratchDatabase, type ScratchDatabase } from "../helpers/private-postgres.ts";
import { SHARED_REDIS_URL } from "../helpers/redis-server.ts";

const DIR = new URL("../../deploy/kubernetes/", import.meta.url);

function manifest<T>(file: string, schema: z.ZodType<T>): T {
  const [document] = parseAllDocuments(readFileSync(new URL(file, DIR), "utf8"));
  return schema.parse(document?.toJS());
}

const configMap = manifest("configmap.yaml", z.object({ data: z.object({ "config.yaml": z.string() }) }));
const secret = manifest("secret.yaml", z.object({ stringData: z.record(z.string(), z.string()) }));
const pod = manifest(
  "deployment.yaml",
  z.object({
    spec: z.object({
      template: z.object({
        spec: z.object({
          terminationGracePeriodSeconds: z.number(),
          containers: z.tuple([
            z.object({
              readinessProbe: z.object({ httpGet: z.object({ path: z.string() }) }),
              livenessProbe: z.object({ httpGet: z.object({ path: z.string() }) }),
            }),
          ]),
        }),
      }),
    }),
  }),
).spec.template.spec;

let database: ScratchDatabase | undefined;
let gateway: (GatewayChild & { readonly port: number }) | undefined;
let url: string;

beforeAll(async () => {
  database = await createScratchDatabase();
  const text = configMap.data["config.yaml"]
    .replace(/redis_url: "[^"]*"/, `redis_url: "${SHARED_REDIS_URL}"`)
    .replace(/postgres_url: "[^"]*"/, `postgres_url: "${database.url}"`);
  expect(text).toContain(SHARED_REDIS_URL);
  expect(text).toContain(database.url);
  const started = spawnGateway(["--config", writeTempConfig(text), "--host", "127.0.0.1", "--port", "0"], {
    env: { ...process.env, ...secret.stringData },
  });
  await waitForGateway(started, () => listeningPort(started.lines) !== undefined, "a listening line", 40_000);
  gateway = { ...started, port: listeningPort(started.lines) ?? 0 };
  url = `http://127.0.0.1:${gateway.port}`;
}, 60_000);

afterAll(async () => {
  killGatewayProcesses();
  await database?.drop();
});

describe("one pod of deploy/kubernetes (ConfigMap config, Secret environment)", () => {
  it("answers the readiness and liveness probes' paths with 200, both shared stores up", async () => {
    const [container] = pod.containers;
    const ready = await fetch(`${url}${container.readinessProbe.httpGet.path}`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", stores: { redis: "up", postgres: "up" } });
    expect((await fetch(`${url}${container.livenessProbe.httpGet.path}`)).status).toBe(200);
  });

  it("opens the API with the Secret's client key only, and /config with its admin key", async () => {
    const chat = (key?: string): Promise<Response> =>
      fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
        },
        body: JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "hi" }] }),
      });
    expect((await chat()).status).toBe(401);
    const allowed = await chat(secret.stringData.LLM_PROXY_CLIENT_KEY);
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toMatchObject({ choices: [{ message: { content: "hi" } }] });
    const config = await fetch(`${url}/config`, {
      headers: { authorization: `Bearer ${secret.stringData.LLM_PROXY_ADMIN_KEY}` },
    });
    expect(config.status).toBe(200);
    expect(await config.text()).not.toContain(secret.stringData.LLM_PROXY_CLIENT_KEY);
  });

  it("exits 0 on SIGTERM well within terminationGracePeriodSeconds", async () => {
    if (gateway === undefined) throw new Error("no gateway");
    const sent = performance.now();
    gateway.child.kill("SIGTERM");
    const { code, at } = await gateway.exited;
    expect(code).toBe(0);
    expect(at - sent).toBeLessThan(pod.terminationGracePeriodSeconds * 1000);
  });
});
