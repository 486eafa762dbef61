/**
 * GET /config (the effective configuration, secrets redacted) and POST /config/reload. Both need an admin key
 * (or, with no admin keys configured, a loopback client): see src/auth/auth-hook.ts.
 */
import type { FastifyInstance } from "fastify";
import type { RuntimeOf } from "../http/request-runtime.ts";
import type { KeySource } from "../providers/registry.ts";
import { effectiveConfig } from "./effective-config.ts";
import type { ConfigReloader } from "./reloader.ts";

/** Options of configRoutes. */
export interface ConfigRoutesOptions {
  readonly runtimeOf: RuntimeOf;
  /** The reloader (created after the app, hence a getter); undefined when not started from a file: 501. */
  readonly reloader: () => ConfigReloader | undefined;
  /** The process environment, to say which variables are set. */
  readonly env: KeySource;
  readonly watching: boolean;
}

/** Registers the routes (encapsulated: its body parser ignores whatever body a reload request carries). */
export async function configRoutes(app: FastifyInstance, options: ConfigRoutesOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { bodyLimit: 64 * 1024 }, (_request, payload, done) => {
    payload.resume();
    payload.on("end", () => done(null, undefined));
    payload.on("error", done);
  });

  app.get("/config", async (request, reply) => {
    const reloader = options.reloader();
    reply.header("cache-control", "no-store");
    return effectiveConfig(options.runtimeOf(request).config, options.env, {
      loadedAt: reloader?.loadedAt ?? STARTED_AT,
      reloads: reloader?.reloads ?? 0,
      watching: options.watching,
    });
  });

  app.post("/config/reload", async (_request, reply) => {
    reply.header("cache-control", "no-store");
    const reloader = options.reloader();
    if (reloader === undefined) {
      return reply.status(501).send({
        error: {
          message: "This gateway was not started from a config file, so it cannot reload one.",
          type: "invalid_request_error",
          param: null,
          code: "reload_unavailable",
        },
      });
    }
    const outcome = await reloader.reload("api");
    if (outcome.status === "reloaded") return outcome;
    // Rejected: the outcome, plus OpenAI's envelope for clients that only read `error`.
    return reply.status(400).send({
      ...outcome,
      error: { message: outcome.message, type: "invalid_request_error", param: null, code: "invalid_config" },
    });
  });
}

const STARTED_AT = new Date().toISOString();
