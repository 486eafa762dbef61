/**
 * deploy/compose.yaml, checked as data (no container engine runs here; `docker compose config` cannot run either):
 * parsed with the `yaml` package as compose reads it (merge keys), then the fields the stack relies on are checked
 * with zod. Three replicas built from this repo's Dockerfile, each serving deploy/config/llm-proxy.yaml (which the
 * real loader accepts, with Redis and PostgreSQL at the compose services' names), healthy on /ready, started after
 * Redis and PostgreSQL are healthy, and stopped with a grace period above the drain; nginx in front of exactly those
 * three, publishing the API and gRPC ports, with deploy/nginx/compose.conf; tracing to Jaeger all-in-one.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { parseConfig } from "../../src/config/load.ts";
import { reasoningKeyIssues } from "../../src/config/reasoning-keys.ts";
import { resolveTracingSettings } from "../../src/telemetry/tracing-settings.ts";

const DEPLOY = new URL("../../deploy/", import.meta.url);
const REPLICAS = ["llm-proxy-1", "llm-proxy-2", "llm-proxy-3"] as const;

const healthySchema = z.strictObject({ condition: z.literal("service_healthy") });
const healthcheckSchema = z.object({
  test: z.array(z.string()).min(2),
  interval: z.string(),
  retries: z.number().int().positive(),
});
/** A compose duration as compose writes them here (`45s`, `1m30s`), in seconds. */
const durationSchema = z
  .string()
  .regex(/^(\d+m)?(\d+s)?$/)
  .transform((text) => Number(/(\d+)m/.exec(text)?.[1] ?? 0) * 60 + Number(/(\d+)s/.exec(text)?.[1] ?? 0));

const replicaSchema = z.object({
  build: z.strictObject({ context: z.literal(".."), dockerfile: z.literal("Dockerfile") }),
  image: z.string(),
  volumes: z.array(z.string()),
  environment: z.record(z.string(), z.string()),
  healthcheck: healthcheckSchema,
  stop_grace_period: durationSchema,
  depends_on: z.object({
    redis: healthySchema,
    postgres: healthySchema,
    jaeger: z.object({ condition: z.string() }),
  }),
  ports: z.never({ message: "replicas are reached through nginx only" }).optional(),
});

const composeSchema = z.object({
  services: z.object({
    "llm-proxy-1": replicaSchema,
    "llm-proxy-2": replicaSchema,
    "llm-proxy-3": replicaSchema,
    nginx: z.object({
      image: z.string().regex(/^nginx:\d+\.\d+/),
      ports: z.array(z.string()),
      volumes: z.array(z.string()),
      depends_on: z.strictObject(Object.fromEntries(REPLICAS.map((name) => [name, healthySchema]))),
    }),
    redis: z.object({ image: z.string().regex(/^redis:\d/), healthcheck: healthcheckSchema }),
    postgres: z.object({
      image: z.string().regex(/^postgres:\d/),
      environment: z.object({
        POSTGRES_USER: z.string(),
        POSTGRES_PASSWORD: z.string(),
        POSTGRES_DB: z.string(),
      }),
      healthcheck: healthcheckSchema,
    }),
    jaeger: z.object({
      image: z.string().regex(/^jaegertracing\/all-in-one:\d+\.\d+\.\d+$/),
      ports: z.array(z.string()),
    }),
  }),
});

const compose = composeSchema.parse(
  parse(readFileSync(new URL("compose.yaml", DEPLOY), "utf8"), { merge: true }),
);
const replicas = REPLICAS.map((name) => compose.services[name]);

/** The host side of a `host:container[:mode]` bind mount, as a path, and its container side. */
function bindMount(volume: string): { host: string; container: string } {
  const [host = "", container = ""] = volume.split(":");
  return { host: fileURLToPath(new URL(host, DEPLOY)), container };
}

describe("deploy/compose.yaml", () => {
  it("runs three replicas built from the repo's Dockerfile, each healthy on /ready, only after Redis and PostgreSQL are", () => {
    expect(replicas).toHaveLength(3);
    // The image's own HEALTHCHECK command (run against a gateway by test/docker/dockerfile.test.ts), more often.
    const dockerfile = readFileSync(new URL("../Dockerfile", DEPLOY), "utf8");
    const imageCheck = z
      .array(z.string())
      .parse(JSON.parse(/^HEALTHCHECK [^\n]*\\\n\s*CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? "null"));
    for (const replica of replicas) {
      expect(replica.healthcheck.test).toEqual(["CMD", ...imageCheck]);
      expect(replica.healthcheck.test.join(" ")).toContain("http://127.0.0.1:9000/ready");
      expect(compose.services.redis.healthcheck.test).toContain("ping");
      expect(compose.services.postgres.healthcheck.test).toContain("pg_isready");
    }
  });

  it("gives each replica deploy/config/llm-proxy.yaml, which the loader accepts, with the stack's Redis and PostgreSQL", () => {
    for (const replica of replicas) {
      const mounts = replica.volumes.map(bindMount);
      expect(mounts).toContainEqual({
        host: fileURLToPath(new URL("config/llm-proxy.yaml", DEPLOY)),
        container: "/app/config/config.yaml",
      });
    }
    const config = parseConfig(
      readFileSync(new URL("config/llm-proxy.yaml", DEPLOY), "utf8"),
      "llm-proxy.yaml",
    );
    expect(config.store.redisUrl).toBe("redis://redis:6379");
    const { POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB } = compose.services.postgres.environment;
    expect(config.store.postgresUrl).toBe(
      `postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@postgres:5432/${POSTGRES_DB}`,
    );
    expect(config.store.failMode).toBe("open");
    expect(config.server.host).toBe("0.0.0.0");
    expect(config.server.port).toBe(9000);
    // Echo models only: the stack runs with no vendor key.
    expect(config.routes.length).toBeGreaterThan(0);
    for (const route of config.routes) {
      for (const deployment of route.deployments) {
        expect(config.providers.get(deployment.provider)?.type).toBe("echo");
      }
    }
  });

  it("seals reasoning state with one key shared by the three replicas", () => {
    const config = parseConfig(
      readFileSync(new URL("config/llm-proxy.yaml", DEPLOY), "utf8"),
      "llm-proxy.yaml",
    );
    expect(config.reasoning.keys.length).toBeGreaterThan(0);
    for (const replica of replicas)
      expect(reasoningKeyIssues(config.reasoning.keys, replica.environment)).toEqual([]);
  });

  it("stops replicas with a grace period above the drain (drain_timeout + 2 s to end the rest + 10 s of trace flush)", () => {
    const config = parseConfig(
      readFileSync(new URL("config/llm-proxy.yaml", DEPLOY), "utf8"),
      "llm-proxy.yaml",
    );
    for (const replica of replicas) {
      expect(replica.stop_grace_period).toBeGreaterThanOrEqual(config.server.drainTimeoutMs / 1000 + 2 + 10);
    }
  });

  it("puts nginx in front of exactly the three replicas, with the API on 9000 and gRPC (h2c) on 50051", () => {
    const nginx = compose.services.nginx;
    expect(nginx.ports).toEqual(expect.arrayContaining(["9000:80", "50051:50051"]));
    const site = nginx.volumes
      .map(bindMount)
      .find((mount) => mount.container === "/etc/nginx/conf.d/default.conf");
    expect(site?.host).toBe(fileURLToPath(new URL("nginx/compose.conf", DEPLOY)));
    const text = readFileSync(site?.host ?? "", "utf8");
    const servers = [...text.matchAll(/^\s*server ([\w-]+):9000 /gm)].map((match) => match[1]);
    // Two upstream blocks (HTTP/1.1 and gRPC), each listing the three services.
    expect(servers).toEqual([...REPLICAS, ...REPLICAS]);
    expect(text).toMatch(/^\s*listen 80;/m);
    expect(text).toMatch(/^\s*listen 50051 http2;/m);
  });

  it("traces every replica to Jaeger all-in-one over OTLP/HTTP", () => {
    expect(compose.services.jaeger.ports).toEqual(expect.arrayContaining(["16686:16686", "4318:4318"]));
    const config = parseConfig(
      readFileSync(new URL("config/llm-proxy.yaml", DEPLOY), "utf8"),
      "llm-proxy.yaml",
    );
    for (const replica of replicas) {
      expect(replica.depends_on.jaeger).toBeDefined();
      expect(replica.environment.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://jaeger:4318");
      expect(resolveTracingSettings(config.telemetry, { ...replica.environment })).toMatchObject({
        serviceName: "llm-proxy",
        sampler: { root: "always_on", parentBased: true },
      });
    }
  });
});
