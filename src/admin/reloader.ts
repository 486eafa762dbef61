/**
 * Hot reload: read the file, validate it completely (YAML, schema, cross-references, inbound keys, vendor keys
 * of routed providers), build a whole new runtime aside, then swap it in with one assignment. Requests in
 * flight keep the runtime they leased, whose upstream pool closes after the last of them. An invalid file
 * changes nothing: the old configuration keeps serving. Reloads run one at a time, in call order.
 */
import type { FastifyBaseLogger } from "fastify";
import { authTableOf, rememberAuthTable } from "../auth/auth-table.ts";
import type { Config } from "../config/config.ts";
import { ConfigError, type ConfigIssue } from "../config/config-error.ts";
import { loadConfig, parseConfig } from "../config/load.ts";
import { applyOsEnv, planOsEnv } from "../config/os-env.ts";
import { applyOverrides, type ServerOverrides } from "../config/overrides.ts";
import { knownSecrets, scrubString } from "../config/redact.ts";
import { authDowngradeIssues, checkServing } from "../config/serving-checks.ts";
import { createRuntime, type Runtime, type RuntimeHolder } from "../core/runtime.ts";
import { rememberSecrets } from "../core/secret-scrubber.ts";
import type { KeySource } from "../providers/registry.ts";

/** What started a reload. */
/** `cluster`: the primary relayed another worker's reload, a file change or SIGHUP (server.workers > 1). */
export type ReloadTrigger = "api" | "watch" | "signal" | "cluster";

/** The result, as logged and as returned by POST /config/reload. */
export interface ReloadOutcome {
  readonly status: "reloaded" | "rejected";
  readonly source: string;
  readonly trigger: ReloadTrigger;
  readonly duration_ms: number;
  /** One line: what happened. */
  readonly message: string;
  /** Rejected: every problem, by YAML path. */
  readonly issues?: readonly ConfigIssue[];
  /** Reloaded: the number of public models now served. */
  readonly models?: number;
  /** Reloaded: changed settings that only a restart applies (listen address, limits, TLS). */
  readonly restart_required?: readonly string[];
}

/** The reload machinery of a running gateway. */
export interface ConfigReloader {
  readonly path: string;
  /**
   * Reloads (queued behind any reload in progress). Never rejects. `content`: the file's text as the caller
   * already read it (the watch passes what it saw settle), so the file is not read again in between.
   */
  reload(trigger: ReloadTrigger, content?: string): Promise<ReloadOutcome>;
  /** When the current configuration started serving, and how many reloads succeeded. */
  readonly loadedAt: string;
  readonly reloads: number;
}

/** What the reloader works with. */
export interface ReloaderDeps {
  readonly path: string;
  readonly holder: RuntimeHolder;
  readonly log: FastifyBaseLogger;
  /** Command-line overrides, applied to every new config as at startup. */
  readonly overrides: ServerOverrides;
  /** The process environment (os_env is exported into it on success). */
  readonly env: NodeJS.ProcessEnv;
  /** Variables the gateway exported from os_env so far (updated on success). */
  readonly ownedEnv: Set<string>;
  /** Test seam: how a runtime is built. */
  readonly createRuntime?: (config: Config, keys: KeySource) => Runtime;
}

/** Settings bound when the server starts (resolved name → YAML name); a change is reported, not applied. */
const RESTART_SETTINGS: readonly (readonly [keyof Config["server"], string])[] = [
  ["host", "host"],
  ["port", "port"],
  ["bodyLimit", "body_limit"],
  ["tls", "tls"],
  ["headersTimeoutMs", "headers_timeout"],
  ["requestTimeoutMs", "request_timeout"],
  ["workers", "workers"],
  ["watchConfig", "watch_config"],
  ["drainTimeoutMs", "drain_timeout"],
  ["logFile", "log_file"],
  ["heapGrowingPercent", "heap_growing_percent"],
];

/** Creates the reloader. */
export function createConfigReloader(deps: ReloaderDeps): ConfigReloader {
  const build = deps.createRuntime ?? ((config, keys) => createRuntime(config, { keys }));
  let queue: Promise<unknown> = Promise.resolve();
  let loadedAt = new Date().toISOString();
  let reloads = 0;

  async function reloadNow(trigger: ReloadTrigger, content: string | undefined): Promise<ReloadOutcome> {
    const started = performance.now();
    const previous = deps.holder.current.config;
    const done = (outcome: Omit<ReloadOutcome, "source" | "trigger" | "duration_ms">): ReloadOutcome => ({
      source: deps.path,
      trigger,
      duration_ms: Math.round(performance.now() - started),
      ...outcome,
    });
    let config: Config;
    try {
      const loaded = content === undefined ? await loadConfig(deps.path) : parseConfig(content, deps.path);
      config = applyOverrides(loaded, deps.overrides);
    } catch (error) {
      return rejected(done, error, knownSecrets(previous, deps.env));
    }
    const plan = planOsEnv(config.file.os_env, deps.env, deps.ownedEnv);
    const secrets = [...knownSecrets(previous, deps.env), ...knownSecrets(config, plan.env)];
    const check = checkServing(config, plan.env, "refuse");
    const errors = [
      ...check.errors,
      ...authDowngradeIssues(authTableOf(previous, deps.env), check.auth, config),
    ];
    if (errors.length > 0) return rejected(done, new ConfigError(deps.path, errors), secrets);
    let runtime: Runtime;
    try {
      runtime = build(config, plan.env);
    } catch (error) {
      deps.log.error({ err: error }, "could not build a runtime from the new config");
      return rejected(done, new Error("the new configuration could not be built (see the log)"), secrets);
    }
    rememberAuthTable(config, check.auth);
    rememberSecrets(secrets);
    for (const warning of check.warnings) deps.log.warn({ path: warning.path }, warning.message);
    applyOsEnv(plan, deps.env, deps.ownedEnv);
    deps.holder.replace(runtime).catch((error: unknown) => {
      deps.log.warn({ err: error }, "closing the retired runtime failed");
    });
    // The log level is the one server setting that can change live (unless the command line set it).
    if (deps.overrides.logLevel === undefined && config.server.logLevel !== previous.server.logLevel) {
      deps.log.level = config.server.logLevel;
    }
    loadedAt = new Date().toISOString();
    reloads += 1;
    const restart = RESTART_SETTINGS.filter(
      ([setting]) => JSON.stringify(previous.server[setting]) !== JSON.stringify(config.server[setting]),
    ).map(([, yamlName]) => `server.${yamlName}`);
    // Tracing is set up once, before the server modules load.
    if (JSON.stringify(previous.telemetry) !== JSON.stringify(config.telemetry)) restart.push("telemetry");
    return done({
      status: "reloaded",
      message: `loaded ${config.routes.length} models from ${deps.path}`,
      models: config.routes.length,
      restart_required: restart,
    });
  }

  // A bug, not a bad file: still an outcome (a reload never rejects, SIGHUP and the watch do not await it).
  function unexpected(error: unknown, trigger: ReloadTrigger): ReloadOutcome {
    deps.log.error({ err: error }, "config reload failed unexpectedly");
    return {
      status: "rejected",
      source: deps.path,
      trigger,
      duration_ms: 0,
      message: "config rejected, still serving the previous one: an unexpected error (see the log)",
      issues: [],
    };
  }

  return {
    path: deps.path,
    get loadedAt() {
      return loadedAt;
    },
    get reloads() {
      return reloads;
    },
    reload(trigger, content) {
      const next = queue
        .then(() => reloadNow(trigger, content))
        .catch((error: unknown) => unexpected(error, trigger));
      queue = next;
      return next.then((outcome) => logOutcome(deps.log, outcome));
    },
  };
}

function rejected(
  done: (outcome: Omit<ReloadOutcome, "source" | "trigger" | "duration_ms">) => ReloadOutcome,
  error: unknown,
  secrets: readonly string[],
): ReloadOutcome {
  const issues =
    error instanceof ConfigError
      ? error.issues.map((issue) => ({ path: issue.path, message: scrubString(issue.message, secrets) }))
      : [{ path: "", message: scrubString(error instanceof Error ? error.message : String(error), secrets) }];
  const first = issues[0];
  const summary = first === undefined ? "" : `${first.path === "" ? "(file)" : first.path}: ${first.message}`;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return done({
    status: "rejected",
    message: `config rejected, still serving the previous one: ${summary}${more}`,
    issues,
  });
}

function logOutcome(log: FastifyBaseLogger, outcome: ReloadOutcome): ReloadOutcome {
  if (outcome.status === "reloaded") log.info({ reload: outcome }, "config reloaded");
  else log.warn({ reload: outcome }, "config reload rejected");
  return outcome;
}
