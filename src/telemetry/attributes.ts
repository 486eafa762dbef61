/**
 * Span attribute names. GenAI ones follow OpenTelemetry's GenAI semantic conventions (kept here as plain strings:
 * the conventions package only ships them from its unstable "incubating" entry point); `request.id` joins spans
 * to log lines; `llm_proxy.*` are the gateway's own.
 * @see https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/
 */

/** The gateway's request id (x-request-id), on every span of a request. */
export const ATTR_REQUEST_ID = "request.id";

export const ATTR_GEN_AI_OPERATION_NAME = "gen_ai.operation.name";
export const ATTR_GEN_AI_PROVIDER_NAME = "gen_ai.provider.name";
export const ATTR_GEN_AI_REQUEST_MODEL = "gen_ai.request.model";
export const ATTR_GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens";
export const ATTR_GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature";
export const ATTR_GEN_AI_REQUEST_TOP_P = "gen_ai.request.top_p";
export const ATTR_GEN_AI_RESPONSE_MODEL = "gen_ai.response.model";
export const ATTR_GEN_AI_RESPONSE_ID = "gen_ai.response.id";
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons";
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens";
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens";
/** OpenTelemetry's general error classifier: we put the ProxyError kind in it. */
export const ATTR_ERROR_TYPE = "error.type";
export const ATTR_HTTP_RESPONSE_STATUS_CODE = "http.response.status_code";
/** Attempt spans (the upstream HTTP client span). */
export const ATTR_HTTP_REQUEST_METHOD = "http.request.method";
export const ATTR_URL_FULL = "url.full";
export const ATTR_SERVER_ADDRESS = "server.address";
export const ATTR_SERVER_PORT = "server.port";

/** Whether the client asked for a stream. */
export const ATTR_STREAM = "llm_proxy.stream";
/** Upstream attempts the request took, and how many were retries within a model or fallbacks to another. */
export const ATTR_ATTEMPTS = "llm_proxy.attempts";
export const ATTR_RETRIES = "llm_proxy.retries";
export const ATTR_FALLBACKS = "llm_proxy.fallbacks";
/** Attempt spans: 1-based number within the request. */
export const ATTR_ATTEMPT_NUMBER = "llm_proxy.attempt.number";
/** Attempt spans: `ok`, or the ProxyError kind it failed with. */
export const ATTR_ATTEMPT_STATUS = "llm_proxy.attempt.status";
/**
 * Failed attempt spans: what came next, `retry` (the same model again, or another of its deployments), `fallback`
 * (another model) or `none` (the request failed with this error).
 */
export const ATTR_ATTEMPT_NEXT = "llm_proxy.attempt.next";
/** First attempt of a fallback model: the model that failed before it. */
export const ATTR_FALLBACK_FROM = "llm_proxy.fallback.from";
/** The public model an attempt serves (differs from the request's model after a fallback). */
export const ATTR_MODEL_GROUP = "llm_proxy.model";

/** gRPC server spans. */
export const ATTR_RPC_SYSTEM = "rpc.system.name";
export const ATTR_RPC_METHOD = "rpc.method";
export const ATTR_RPC_STATUS_CODE = "rpc.response.status_code";
export const ATTR_RPC_PROTOCOL = "llm_proxy.rpc.protocol";
