/**
 * The request as log lines show it (`req` in Fastify's "incoming request" line and its error lines). Some clients
 * send their key in the query string (`?api_key=…`, `?key=…`, `?access_token=…`): the value of every query
 * parameter with a secret name (src/config/redact.ts `isSecretName`) is replaced, the rest of the URL is kept as
 * sent. A URL without `?` costs one indexOf.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyServerOptions } from "fastify";
import { isSecretName, REDACTED } from "../config/redact.ts";

/** `url` with the values of secret-named query parameters replaced by `[redacted]`. */
export function redactUrlQuery(url: string): string {
  const mark = url.indexOf("?");
  if (mark === -1) return url;
  const pairs = url
    .slice(mark + 1)
    .split("&")
    .map((pair) => {
      const equals = pair.indexOf("=");
      const name = equals === -1 ? pair : pair.slice(0, equals);
      return isSecretName(decodeName(name)) ? `${name}=${REDACTED}` : pair;
    });
  return `${url.slice(0, mark + 1)}${pairs.join("&")}`;
}

/** A query name as the server reads it (`x%2Dapi%2Dkey`, `api+key`); a malformed escape is taken as written. */
function decodeName(name: string): string {
  if (!name.includes("%") && !name.includes("+")) return name;
  try {
    return decodeURIComponent(name.replaceAll("+", " "));
  } catch {
    return name;
  }
}

/** What the `req` serializer reads: a Fastify request (or, in a raw log call, Node's IncomingMessage). */
interface LoggedRequest {
  readonly method?: string;
  readonly url?: string;
  readonly headers?: IncomingHttpHeaders;
  readonly host?: string;
  readonly ip?: string;
  readonly socket?: { readonly remotePort?: number };
}

/** Fastify's own `req` log serializer, with the query redacted. */
export function requestLogFields(request: LoggedRequest): {
  method?: string;
  url?: string;
  version?: string;
  host?: string;
  remoteAddress?: string;
  remotePort?: number;
} {
  const version = request.headers?.["accept-version"];
  return {
    method: request.method,
    url: request.url === undefined ? undefined : redactUrlQuery(request.url),
    version: typeof version === "string" ? version : undefined,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/**
 * Fastify's logging options with the `req` serializer added: merged into pino options, or, for a given pino
 * instance, through a child (a child's serializers win over the instance's and Fastify's defaults).
 */
export function withLogSerializers(
  options: Pick<FastifyServerOptions, "logger" | "loggerInstance">,
): Pick<FastifyServerOptions, "logger" | "loggerInstance"> {
  const serializers = { req: requestLogFields };
  if (options.loggerInstance !== undefined) {
    return { loggerInstance: options.loggerInstance.child({}, { serializers }) };
  }
  const logger = options.logger;
  if (logger === undefined || logger === false) return { logger };
  const base = logger === true ? {} : logger;
  return { logger: { ...base, serializers: { ...base.serializers, ...serializers } } };
}
