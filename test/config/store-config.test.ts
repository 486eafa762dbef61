import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { checkConfigFile } from "../../src/startup.ts";

const MODELS = 'model_config: {"m": echo}\n';

describe("store: config section", () => {
  it("defaults to data/llm-proxy.db beside the config file, fail_mode open, no retention", () => {
    const config = parseConfig(MODELS, "/etc/llm-proxy/config.yaml");
    expect(config.store).toEqual({
      path: "/etc/llm-proxy/data/llm-proxy.db",
      retentionDays: undefined,
      redisUrl: undefined,
      postgresUrl: undefined,
      failMode: "open",
    });
  });

  it("resolves a relative path against the config file's folder and keeps :memory: and absolute paths", () => {
    const relative = parseConfig(
      `${MODELS}store: {path: ../spend/gw.db, retention_days: 30}`,
      "/srv/a/c.yaml",
    );
    expect(relative.store).toMatchObject({ path: "/srv/spend/gw.db", retentionDays: 30 });
    expect(parseConfig(`${MODELS}store: {path: ":memory:"}`, "/srv/a/c.yaml").store.path).toBe(":memory:");
    expect(parseConfig(`${MODELS}store: {path: /var/lib/gw.db}`, "/srv/a/c.yaml").store.path).toBe(
      "/var/lib/gw.db",
    );
  });

  it("accepts the scale-out URLs with their own protocols and fail_mode closed", () => {
    const config = parseConfig(
      `${MODELS}store: {redis_url: "rediss://cache:6380/0", postgres_url: "postgresql://gw@db:5432/gw", fail_mode: closed}`,
      "c.yaml",
    );
    expect(config.store).toMatchObject({
      redisUrl: "rediss://cache:6380/0",
      postgresUrl: "postgresql://gw@db:5432/gw",
      failMode: "closed",
    });
  });

  it.each([
    ["store: {retention_days: 0}", "store.retention_days"],
    ["store: {retention_days: 1.5}", "store.retention_days"],
    ["store: {path: ''}", "store.path"],
    ["store: {redis_url: 'http://cache:6379'}", "store.redis_url"],
    ["store: {postgres_url: 'mysql://db/gw'}", "store.postgres_url"],
    ["store: {fail_mode: maybe}", "store.fail_mode"],
    ["store: {file: x.db}", "store"],
  ])("rejects %s naming %s", (yaml, path) => {
    expect(() => parseConfig(`${MODELS}${yaml}`, "c.yaml")).toThrow(path);
  });
});

describe("--check-config and store:", () => {
  it("refuses a bad store section by its YAML path", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "llmp-check-")), "c.yaml");
    writeFileSync(file, `${MODELS}store: {retention_days: -3, fail_mode: half}\n`);
    const checked = await checkConfigFile(file, {});
    expect(checked.ok).toBe(false);
    expect(checked.text).toContain("store.retention_days");
    expect(checked.text).toContain("store.fail_mode");
  });

  it("leaves opening the file to the start: nothing is created, a missing folder is fine", async () => {
    const folder = mkdtempSync(join(tmpdir(), "llmp-check-"));
    const file = join(folder, "c.yaml");
    writeFileSync(file, `${MODELS}store: {path: not-yet/gw.db}\n`);
    expect((await checkConfigFile(file, {})).ok).toBe(true);
    expect(existsSync(join(folder, "not-yet"))).toBe(false);
  });
});
