/**
 * Fastify's error and not-found handlers, answering in the shape of the edge the request came to (its route's
 * declaration, src/edge/route-edge.ts; a fallback for unknown paths): parse errors, oversized bodies and unknown
 * routes get clear 4xx; anything unexpected is logged and answered with a generic 500 that carries no internals.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ProxyError } from "../core/errors.ts";
import { scrubErrorForLog, scrubSecrets } from "../core/secret-scrubber.ts";
import type { EdgeResolver } from "../edge/route-edge.ts";

/** Maps Fastify's own errors (content-type parsing, body limit) to ProxyError. */
function fromFastifyError(error: FastifyError): ProxyError {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ProxyError("request_too_large", "The request body is larger than this gateway accepts.");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new ProxyError("invalid_request", "We could not parse the JSON body of your request.");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ProxyError("invalid_request", "Unsupported content type: send application/json.");
    default:
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        return new ProxyError("invalid_request", "The request could not be processed.", { cause: error });
      }
      return ProxyError.from(error);
  }
}

/**
 * The root error and not-found handlers; `edgeOf` says which edge answers a request. They return nothing: the edge
 * has answered (an RPC edge may have hijacked the reply), and Fastify would send a returned reply again.
 */
export function createErrorHandlers(edgeOf: EdgeResolver): {
  handleError(error: FastifyError | ProxyError, request: FastifyRequest, reply: FastifyReply): void;
  handleNotFound(request: FastifyRequest, reply: FastifyReply): void;
} {
  return {
    handleError(error, request, reply) {
      const proxyError = error instanceof ProxyError ? error : fromFastifyError(error);
      // A client's mistake (bad JSON, a body too large) is not the gateway's failure: no stack trace, and at
      // debug, so that the access line (its outcome says the kind) stays the request's one line at info.
      if (proxyError.kind === "internal") {
        request.log.error(
          { err: scrubErrorForLog(proxyError.cause ?? proxyError), kind: proxyError.kind },
          scrubSecrets(proxyError.message),
        );
      } else request.log.debug({ kind: proxyError.kind }, scrubSecrets(proxyError.message));
      // A response already under way (an h2 stream that src/net/h2-request-timeout.ts answered) takes no answer.
      if (reply.sent || reply.raw.headersSent || reply.raw.destroyed) return;
      // A content type no parser of the route takes: 415, which RPC clients too read as "not spoken here".
      const status =
        !(error instanceof ProxyError) && error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" ? 415 : undefined;
      edgeOf(request).writeError(request, reply, proxyError, status);
    },
    handleNotFound(request, reply) {
      const error = new ProxyError(
        "invalid_request",
        `Unknown route: ${request.method} ${(request.url.split("?")[0] ?? "").slice(0, 200)}`,
      );
      edgeOf(request).writeError(request, reply, error, 404);
    },
  };
}
