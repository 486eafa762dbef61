/**
 * deploy/kubernetes/, checked offline (no cluster here; kubectl's own validation needs an API server). Every
 * document of every manifest is validated against the Kubernetes OpenAPI schema of its kind by kubernetes-models
 * (types, required fields, formats). Those schemas accept unknown fields, as the API server's non-strict decoding
 * does, so the parts the deployment relies on are also parsed with strict zod schemas here, which turns a
 * misspelt probe or security field into a failure, and checked against each other and against the gateway: the
 * config in the ConfigMap passes the real loader, the probes hit /ready and /health, the grace period covers the
 * drain, the Secret holds every variable the config names, selectors match the pod's labels.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Deployment } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Secret, Service } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { parseConfig } from "../../src/config/load.ts";
import { reasoningKeyIssues } from "../../src/config/reasoning-keys.ts";

const DIR = new URL("../../deploy/kubernetes/", import.meta.url);
/** The gateway's port (config `server.port`) and the Dockerfile's `node` user, whose uid is 1000 in node images. */
const PORT = 9000;
const NODE_UID = 1000;
/** What the gateway takes after the drain timeout: ending the rest (2 × 1 s, src/shutdown.ts) and a trace flush. */
const AFTER_DRAIN_S = 2 + 10;

interface ManifestDocument {
  readonly file: string;
  readonly value: unknown;
}

const documents: ManifestDocument[] = readdirSync(DIR)
  .filter((file) => file.endsWith(".yaml"))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(new URL(file, DIR), "utf8")).map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
      return { file, value: document.toJS() as unknown };
    }),
  );

/** Validates one document against its kind's schema (throws the schema's errors); returns `apiVersion/kind`. */
function validateAgainstKubernetesSchema(value: unknown): string {
  if (Deployment.is(value)) new Deployment(value).validate();
  else if (Service.is(value)) new Service(value).validate();
  else if (ConfigMap.is(value)) new ConfigMap(value).validate();
  else if (Secret.is(value)) new Secret(value).validate();
  else if (PodDisruptionBudget.is(value)) new PodDisruptionBudget(value).validate();
  else throw new Error(`no schema here for ${JSON.stringify(value).slice(0, 120)}`);
  const { apiVersion, kind } = z.object({ apiVersion: z.string(), kind: z.string() }).parse(value);
  return `${apiVersion}/${kind}`;
}

const labelsSchema = z.record(z.string(), z.string());
const metadataSchema = z.object({ name: z.string(), labels: labelsSchema });
const httpProbeSchema = z.strictObject({
  httpGet: z.strictObject({ path: z.string(), port: z.string() }),
  periodSeconds: z.number().int().positive(),
  timeoutSeconds: z.number().int().positive(),
  failureThreshold: z.number().int().positive(),
});
const containerSchema = z.strictObject({
  name: z.string(),
  image: z.string(),
  ports: z.array(z.strictObject({ name: z.string(), containerPort: z.number(), protocol: z.literal("TCP") })),
  envFrom: z.array(z.strictObject({ secretRef: z.strictObject({ name: z.string() }) })),
  readinessProbe: httpProbeSchema,
  livenessProbe: httpProbeSchema,
  lifecycle: z.strictObject({
    preStop: z.strictObject({ exec: z.strictObject({ command: z.tuple([z.literal("sleep"), z.string()]) }) }),
  }),
  resources: z.strictObject({
    requests: z.strictObject({ cpu: z.string(), memory: z.string() }),
    limits: z.strictObject({ memory: z.string() }),
  }),
  securityContext: z.strictObject({
    allowPrivilegeEscalation: z.literal(false),
    readOnlyRootFilesystem: z.literal(true),
    capabilities: z.strictObject({ drop: z.tuple([z.literal("ALL")]) }),
  }),
  volumeMounts: z.array(
    z.strictObject({ name: z.string(), mountPath: z.string(), readOnly: z.boolean().optional() }),
  ),
});
const deploymentSchema = z.object({
  metadata: metadataSchema,
  spec: z.object({
    replicas: z.number().int(),
    selector: z.strictObject({ matchLabels: labelsSchema }),
    template: z.object({
      metadata: z.object({ labels: labelsSchema }),
      spec: z.object({
        terminationGracePeriodSeconds: z.number().int(),
        securityContext: z.object({
          runAsNonRoot: z.literal(true),
          runAsUser: z.number().int(),
          runAsGroup: z.number().int(),
        }),
        containers: z.tuple([containerSchema]),
        volumes: z.array(
          z.object({
            name: z.string(),
            configMap: z.strictObject({ name: z.string() }).optional(),
            emptyDir: z.object({}).optional(),
          }),
        ),
      }),
    }),
  }),
});
const serviceSchema = z.object({
  spec: z.object({
    selector: labelsSchema,
    ports: z.tuple([
      z.strictObject({
        name: z.string(),
        port: z.number(),
        targetPort: z.string(),
        protocol: z.literal("TCP"),
        appProtocol: z.string(),
      }),
    ]),
  }),
});
const pdbSchema = z.object({
  spec: z.strictObject({
    minAvailable: z.number().int(),
    selector: z.strictObject({ matchLabels: labelsSchema }),
  }),
});
const configMapSchema = z.object({
  metadata: metadataSchema,
  data: z.strictObject({ "config.yaml": z.string() }),
});
const secretSchema = z.object({
  metadata: metadataSchema,
  type: z.literal("Opaque"),
  stringData: z.record(z.string(), z.string()),
});

/** The one document of `kind`, parsed with `schema`. */
function one<T>(kind: string, schema: z.ZodType<T>): T {
  const found = documents.filter(
    (document) => z.object({ kind: z.literal(kind) }).safeParse(document.value).success,
  );
  expect(found, `one ${kind}`).toHaveLength(1);
  return schema.parse(found[0]?.value);
}

const deployment = one("Deployment", deploymentSchema);
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const service = one("Service", serviceSchema);
const pdb = one("PodDisruptionBudget", pdbSchema);
const configMap = one("ConfigMap", configMapSchema);
const secret = one("Secret", secretSchema);
const config = parseConfig(configMap.data["config.yaml"], "/app/config/config.yaml");

/** Whether `selector` picks pods with `labels`. */
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return (
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([key, value]) => labels[key] === value)
  );
}

describe("deploy/kubernetes", () => {
  it("validates every document against its kind's Kubernetes schema", () => {
    const kinds = documents.map((document) => validateAgainstKubernetesSchema(document.value));
    expect(kinds.sort()).toEqual([
      "apps/v1/Deployment",
      "policy/v1/PodDisruptionBudget",
      "v1/ConfigMap",
      "v1/Secret",
      "v1/Service",
    ]);
    // The validator is not a formality: a wrong type fails it.
    const wrong = {
      ...deployment,
      apiVersion: "apps/v1",
      kind: "Deployment",
      spec: { ...deployment.spec, replicas: "3" },
    };
    expect(() => validateAgainstKubernetesSchema(wrong)).toThrow(/replicas/);
  });

  it("runs three replicas, ready on /ready and alive on /health, on the gateway's port", () => {
    expect(deployment.spec.replicas).toBe(3);
    expect(selects(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(
      true,
    );
    expect(container.ports).toEqual([{ name: "http", containerPort: PORT, protocol: "TCP" }]);
    expect(container.readinessProbe.httpGet).toEqual({ path: "/ready", port: "http" });
    expect(container.livenessProbe.httpGet).toEqual({ path: "/health", port: "http" });
    expect(config.server.port).toBe(PORT);
    expect(config.server.host).toBe("0.0.0.0");
  });

  it("terminates gracefully: preStop, then a grace period above the gateway's drain", () => {
    const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1]);
    expect(preStopSeconds).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      preStopSeconds + config.server.drainTimeoutMs / 1000 + AFTER_DRAIN_S,
    );
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    expect(selects(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
  });

  it("runs as the image's non-root user on a read-only root filesystem, the config mounted where the image looks", () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: NODE_UID,
      runAsGroup: NODE_UID,
    });
    const volumes = new Map(pod.volumes.map((volume) => [volume.name, volume]));
    for (const mount of container.volumeMounts) expect(volumes.has(mount.name), mount.name).toBe(true);
    // The Dockerfile's CMD reads config/config.yaml from its WORKDIR, /app.
    const configMount = container.volumeMounts.find((mount) => mount.mountPath === "/app/config");
    expect(configMount?.readOnly).toBe(true);
    expect(volumes.get(configMount?.name ?? "")?.configMap?.name).toBe(configMap.metadata.name);
    const writable = container.volumeMounts.filter((mount) => mount.readOnly !== true);
    expect(writable.map((mount) => volumes.get(mount.name)?.emptyDir)).not.toContain(undefined);
  });

  it("exposes one port to the pods' named port, as h2c (gRPC and HTTP/1.1 share it)", () => {
    const [port] = service.spec.ports;
    expect(port).toMatchObject({ port: PORT, targetPort: "http", appProtocol: "kubernetes.io/h2c" });
    expect(selects(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
  });

  it("configures Redis and PostgreSQL by URL, and the Secret holds every variable the config names", () => {
    expect(config.store.redisUrl).toMatch(/^redis:\/\//);
    expect(config.store.postgresUrl).toMatch(/^postgres:\/\//);
    expect(config.store.failMode).toBe("open");
    expect(container.envFrom).toEqual([{ secretRef: { name: secret.metadata.name } }]);
    const named = [
      ...config.routes.flatMap((route) =>
        route.deployments.map((target) => config.providers.get(target.provider)?.apiKeyEnv),
      ),
      ...config.file.auth.keys.map((key) => key.key_env),
      ...config.file.auth.admin_keys.map((key) => key.key_env),
      ...config.reasoning.keys.map((key) => key.keyEnv),
    ].filter((name) => name !== undefined);
    expect(named.length).toBeGreaterThan(2);
    for (const name of named) expect(Object.keys(secret.stringData)).toContain(name);
    // One reasoning key for every pod, and the placeholder long enough for the gateway to start with it.
    expect(config.reasoning.keys.length).toBeGreaterThan(0);
    expect(reasoningKeyIssues(config.reasoning.keys, secret.stringData)).toEqual([]);
    // The PostgreSQL URL has no password: node-postgres takes PGPASSWORD from the Secret.
    expect(new URL(config.store.postgresUrl ?? "").password).toBe("");
    expect(Object.keys(secret.stringData)).toContain("PGPASSWORD");
    // Placeholders only: nothing that looks like a real key is committed.
    for (const value of Object.values(secret.stringData)) expect(value).toMatch(/^replace-me/);
  });
});
