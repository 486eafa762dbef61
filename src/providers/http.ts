/**
 * The shared upstream POST of every HTTP adapter: sends, turns transport failures and non-2xx answers into
 * ProxyError (through the adapter's own error map), and hands back a 2xx response with its body unread.
 */
import { ProxyError } from "../core/errors.ts";
import { scrubSecrets } from "../core/secret-scrubber.ts";
import type { CallContext, UpstreamResponse } from "./types.ts";

/** Longest error body we read from an upstream; the rest is dropped. */
const MAX_ERROR_BODY_CHARS = 64 * 1024;

/** Builds the ProxyError for a non-2xx upstream answer. */
export type UpstreamErrorMapper = (
  status: number,
  body: string,
  headers: UpstreamResponse["headers"],
  now: number,
) => ProxyError;

/** POSTs a JSON body upstream; resolves only with a 2xx response. */
export async function postUpstream(
  context: CallContext,
  url: string,
  headers: Readonly<Record<string, string>>,
  body: string,
  mapError: UpstreamErrorMapper,
): Promise<UpstreamResponse> {
  let response: UpstreamResponse;
  try {
    response = await context.transport.post({
      url,
      headers: context.upstreamCall?.headers(url, headers) ?? headers,
      body,
      signal: context.signal,
    });
  } catch (error) {
    throw transportFailure(error, context.signal, url);
  }
  context.upstreamCall?.answered(response.status);
  if (response.status >= 200 && response.status < 300) return response;
  let text = "";
  try {
    text = (await response.text()).slice(0, MAX_ERROR_BODY_CHARS);
  } catch (error) {
    context.log.debug({ err: error }, "could not read upstream error body");
  }
  throw mapError(response.status, text, response.headers, context.now());
}

/**
 * Maps a thrown transport error: our own abort stays an abort; anything else means "could not reach it", naming
 * the vendor's host (from `url`, when known) and the system's error code, so that the client and the warn line
 * say why (`ENOTFOUND` is a name that does not resolve, `ECONNREFUSED` a port nobody listens on). Neither the
 * URL's path and query nor the error's own text are quoted: they may hold a key.
 */
export function transportFailure(error: unknown, signal: AbortSignal, url?: string): ProxyError {
  if (signal.aborted) return ProxyError.from(signal.reason ?? error);
  if (error instanceof ProxyError) return error;
  // undici's ConnectTimeoutError (proxy.connect_timeout): a timeout, retried like one, 504 if it is the last.
  if (error instanceof Error && "code" in error && error.code === "UND_ERR_CONNECT_TIMEOUT") {
    return new ProxyError("timeout", "Could not connect to the upstream within proxy.connect_timeout.", {
      cause: error,
    });
  }
  const host = hostOf(url);
  const code = errorCodeOf(error);
  const where = host === undefined ? "" : code === undefined ? ` ${host}` : ` ${host} (${code})`;
  return new ProxyError("upstream_unavailable", `Could not reach the upstream provider${where}.`, {
    cause: error,
  });
}

/** `host[:port]` of a vendor URL, without its credentials, path or query; scrubbed like anything quoted. */
function hostOf(url: string | undefined): string | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const host = scrubSecrets(new URL(url).host);
  return host === "" ? undefined : host;
}

/** A system or undici error code (`ENOTFOUND`, `ECONNREFUSED`, `UND_ERR_SOCKET`), also inside an AggregateError. */
function errorCodeOf(error: unknown): string | undefined {
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  if (typeof code === "string" && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code;
  if (error instanceof AggregateError) return errorCodeOf(error.errors[0]);
  return undefined;
}
