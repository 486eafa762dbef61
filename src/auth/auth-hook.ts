/**
 * Inbound authentication: one onRequest hook for both protocols (gRPC metadata are HTTP/2 headers, so
 * `authorization: Bearer <key>` reads the same everywhere). It runs before the body is read, so a stranger costs
 * one hash. Refusals are written by the edge of the route (src/edge/route-edge.ts), in its protocol's shape: OpenAI's
 * envelope on the OpenAI routes, UNAUTHENTICATED on RPCs.
 *
 * Who may call what:
 * - open to all: `/health`, `/ready`, `/docs*`, `/redoc`, `/openapi.json`, gRPC reflection and health;
 * - `/config` and `/config/reload`: an admin key when `auth.admin_keys` has any, else loopback clients only; a
 *   request that names a forwarded client (`Forwarded`, `X-Forwarded-For`, `X-Real-IP`...) came through a proxy,
 *   and a reverse proxy on the same host would make every client look like loopback, so it is not trusted;
 * - `/admin/*` (virtual keys, usage): an admin key, always, even from loopback: these routes mint and revoke
 *   credentials and read who spent what, so no configuration opens them without one;
 * - everything else (the API, and unknown paths so they do not reveal what exists): a client key when
 *   `auth.keys` has any or the store holds an active virtual key (looked up after the file's keys), else
 *   everyone.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ProxyError } from "../core/errors.ts";
import type { EdgeResolver } from "../edge/route-edge.ts";
import type { RuntimeOf } from "../http/request-runtime.ts";
import { authTableOf } from "./auth-table.ts";
import { lookupKey, type Principal } from "./keys.ts";

type Access = "open" | "admin" | "keyed_admin" | "api";

const OPEN_ROUTES: ReadonlySet<string> = new Set(["/health", "/ready", "/docs", "/redoc", "/openapi.json"]);
const OPEN_PREFIXES: readonly string[] = ["/docs/", "/grpc.reflection.", "/grpc.health."];
const ADMIN_ROUTES: ReadonlySet<string> = new Set(["/config", "/config/reload"]);

const MISSING_KEY = "Missing or invalid API key: send it as 'Authorization: Bearer <key>'.";
const ADMIN_KEY_REQUIRED =
  "The /admin routes need an admin key (auth.admin_keys), even from loopback, and none is configured.";
const ADMIN_ONLY =
  "This endpoint needs an admin key (auth.admin_keys); without one it answers loopback clients only, not through a proxy.";
/** Headers a proxy adds to say whom it forwards for: their presence means the socket's peer is not the client. */
const FORWARDING_HEADERS: readonly string[] = [
  "forwarded",
  "x-forwarded-for",
  "x-real-ip",
  "x-forwarded-host",
  "x-forwarded-proto",
  "via",
];

/** Which rule applies to a matched route (undefined: no route matched). */
export function accessOf(route: string | undefined): Access {
  if (route === undefined) return "api";
  if (OPEN_ROUTES.has(route) || OPEN_PREFIXES.some((prefix) => route.startsWith(prefix))) return "open";
  if (route.startsWith("/admin/")) return "keyed_admin";
  return ADMIN_ROUTES.has(route) ? "admin" : "api";
}

/** Client keys besides the file's: the store's virtual keys (src/governance/key-cache.ts). */
export interface VirtualKeys {
  /** The principal of an active key, else undefined. */
  lookup(presented: string): Principal | undefined;
  /** Whether any key is active: the API then requires a key even when the file lists none. */
  hasActiveKeys(): boolean;
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** The key that authenticated this request; undefined when the API is open or the route needs none. */
export function principalOf(request: FastifyRequest): Principal | undefined {
  return principals.get(request);
}

/**
 * Adds the hook. Register it after the runtime leases: it checks the keys of the request's own runtime. `edgeOf`
 * says which edge writes a refusal; `virtualKeys`, when the gateway has a store, are tried after the file's keys.
 */
export function registerAuth(
  app: FastifyInstance,
  runtimeOf: RuntimeOf,
  edgeOf: EdgeResolver,
  virtualKeys?: VirtualKeys,
): void {
  // Routes are few and fixed: remember each one's rule instead of testing prefixes per request.
  const accessCache = new Map<string | undefined, Access>();
  app.addHook("onRequest", (request, reply, done) => {
    const route = request.routeOptions.url;
    let access = accessCache.get(route);
    if (access === undefined) {
      access = accessOf(route);
      accessCache.set(route, access);
    }
    if (access === "open") return done();
    const table = authTableOf(runtimeOf(request).config);
    if (access === "api" && !table.clientKeysRequired && virtualKeys?.hasActiveKeys() !== true) return done();
    if (access === "keyed_admin" && !table.adminKeysConfigured) {
      reject(request, reply, edgeOf, "admin_key_required", "no admin keys configured");
      return;
    }
    if (access === "admin" && !table.adminKeysConfigured) {
      const local = isLoopback(request.socket.remoteAddress);
      if (local && !isForwarded(request.headers)) return done();
      const reason = local ? "forwarded through a proxy" : "not loopback";
      reject(request, reply, edgeOf, "admin_only", `${reason} and no admin keys configured`);
      return;
    }
    // Anthropic's SDKs and Claude Code send `x-api-key` (or Bearer with ANTHROPIC_AUTH_TOKEN): API keys only.
    const key =
      bearerKey(request.headers.authorization) ??
      (access === "api" ? headerKey(request.headers["x-api-key"]) : undefined);
    const principal =
      key === undefined
        ? undefined
        : access === "api"
          ? (lookupKey(table.clients, key) ?? virtualKeys?.lookup(key))
          : lookupKey(table.admins, key);
    if (principal === undefined) {
      reject(request, reply, edgeOf, "no_key", key === undefined ? "no key" : "unknown key");
      return;
    }
    principals.set(request, principal);
    done();
  });
}

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive), or undefined. */
export function bearerKey(header: string | string[] | undefined): string | undefined {
  if (typeof header !== "string" || header.length < 8 || header.length > 1024) return undefined;
  if (header.slice(0, 7).toLowerCase() !== "bearer ") return undefined;
  const token = header.slice(7).trim();
  return token === "" ? undefined : token;
}

/** A key sent alone in a header (`x-api-key`), or undefined. */
export function headerKey(header: string | string[] | undefined): string | undefined {
  if (typeof header !== "string" || header.length > 1024) return undefined;
  const token = header.trim();
  return token === "" ? undefined : token;
}

/** Whether a peer address is this machine. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

/** Whether a request carries a header by which a proxy names the client it forwards for. */
export function isForwarded(headers: FastifyRequest["headers"]): boolean {
  return FORWARDING_HEADERS.some((name) => headers[name] !== undefined);
}

function reject(
  request: FastifyRequest,
  reply: FastifyReply,
  edgeOf: EdgeResolver,
  refusal: "no_key" | "admin_only" | "admin_key_required",
  reason: string,
): void {
  // Never the key itself: only why it was refused.
  request.log.info({ reason, route: request.routeOptions.url }, "request refused by auth");
  const edge = edgeOf(request);
  if (refusal === "no_key") {
    if (!edge.rpc) reply.header("www-authenticate", 'Bearer realm="llm-proxy"');
    edge.writeError(
      request,
      reply,
      new ProxyError("authentication", MISSING_KEY, { code: "invalid_api_key" }),
    );
    return;
  }
  edge.writeError(
    request,
    reply,
    new ProxyError("permission_denied", refusal === "admin_only" ? ADMIN_ONLY : ADMIN_KEY_REQUIRED, {
      code: "admin_key_required",
    }),
  );
}
