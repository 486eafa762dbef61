/**
 * The upstream side of an attempt span. The attempt span (./request-trace.ts) is the CLIENT span of the upstream
 * HTTP call: an attempt is exactly one upstream request, so a separate client span from the undici
 * instrumentation would only repeat it, for about a quarter of what tracing costs per request. The adapters'
 * shared POST (providers/http.ts) is handed this observer in its call context: `traceparent` (and baggage) go into
 * the upstream headers, the HTTP client attributes onto the span.
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-client-span
 */
import { type Context, propagation, type Span } from "@opentelemetry/api";
import { memoByKey } from "../core/memo.ts";
import type { UpstreamCallObserver } from "../core/observer.ts";
import * as attr from "./attributes.ts";

/** The span's view of an upstream URL, once per URL. */
const endpointOf = memoByKey((url) => {
  const parsed = new URL(url);
  return {
    // No query string: a vendor could carry a key there, and spans must not hold secrets.
    full: `${parsed.origin}${parsed.pathname}`,
    address: parsed.hostname,
    port: parsed.port === "" ? (parsed.protocol === "https:" ? 443 : 80) : Number(parsed.port),
  };
});

/** The upstream call of the attempt whose `span` is active in `spanContext`. */
export function tracedUpstreamCall(span: Span, spanContext: Context): UpstreamCallObserver {
  return {
    headers(url, headers) {
      if (span.isRecording()) {
        const endpoint = endpointOf(url);
        span.setAttributes({
          [attr.ATTR_HTTP_REQUEST_METHOD]: "POST",
          [attr.ATTR_URL_FULL]: endpoint.full,
          [attr.ATTR_SERVER_ADDRESS]: endpoint.address,
          [attr.ATTR_SERVER_PORT]: endpoint.port,
        });
      }
      const traced: Record<string, string> = { ...headers };
      propagation.inject(spanContext, traced);
      return traced;
    },
    answered(status) {
      if (span.isRecording()) span.setAttribute(attr.ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    },
  };
}
