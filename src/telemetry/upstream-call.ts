/**
 * The upstream side of an attempt span. The attempt span (./request-trace.ts) is the CLIENT span of the upstream
 * HTTP call: an attempt is exactly one upstream request, so a separate client span from the undici
 * instrumentation would only repeat it, for about a quarter of what tracing costs per request. The adapters'
 * shared POST (providers/http.ts) calls these two: `traceparent` (and baggage) go into the upstream headers, the
 * HTTP client attributes onto the span. With no SDK started, or outside an attempt, the active context holds no
 * span and both return at once.
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-client-span
 */
import { context, propagation, trace } from "@opentelemetry/api";
import { memoByKey } from "../core/memo.ts";
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

/** The headers to send upstream: `headers` plus the active attempt span's trace context, if there is one. */
export function traceUpstreamRequest(
  url: string,
  headers: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> {
  const active = context.active();
  const span = trace.getSpan(active);
  if (span === undefined) return headers;
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
  propagation.inject(active, traced);
  return traced;
}

/** The upstream answered with `status` (any status: a 4xx/5xx attempt also fails with an error kind). */
export function traceUpstreamStatus(status: number): void {
  const span = trace.getActiveSpan();
  if (span?.isRecording() === true) span.setAttribute(attr.ATTR_HTTP_RESPONSE_STATUS_CODE, status);
}
