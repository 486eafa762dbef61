/**
 * The edge kit: what every edge (a wire protocol the gateway serves: the OpenAI routes, the Connect/gRPC service,
 * and the ones to come) needs besides its own decode/encode, so that no edge imports another edge and the shared
 * server parts treat every edge alike.
 *
 * - `CallAborts` / `CallAbort` (./call-abort.ts): the call's abort signal: client disconnect, shutdown, deadline.
 * - `pumpStream`, `writeOrWait`, `endFailedStream` (./pump.ts): the back-pressured writer pump, generic over an
 *   encoder that turns chunk batches into bytes; `startSse`, `sseEvent`, `sseDataBatches` (./sse.ts) for SSE.
 * - `replyHeaders` (./response-headers.ts): the reply's headers for a raw `writeHead`.
 * - `stampStreamStart`, `stampAnswer` (./overhead.ts): the overhead header and the record's first byte.
 * - `logFailure`, `recordFailure`, `logLevelFor` (./failure-log.ts): one log line and the record's error kind.
 * - `callOptionsOf` (./call-options.ts): the core's CallOptions, with the request record's observers.
 * - `modelCallHandler` (./model-call.ts): a JSON-over-HTTP model-call route (decode, watch the call, complete or
 *   open the stream, overhead stamp, SSE pump with its ending or failure event) around the edge's `ModelCallEdge`.
 * - `errorStatusOf`, `retryHeadersOf` (./error-status.ts): an HTTP error reply's status and retry headers.
 * - `requestModel` (./request-model.ts): the request's model or the default one.
 * - `RouteEdge`, `declareEdge` (./route-edge.ts): the edge's declaration (API label, error shape) that the error
 *   handler, the auth hook, the limits, metrics and the access line ask.
 * - `acceptJsonBodies` (./json-body.ts) and `decodeRequestBody` (./content-encoding.ts): a JSON-over-HTTP edge's
 *   body parser (strict JSON, depth-capped) and Content-Encoding decoding held to `server.body_limit`.
 * - `openAIRouteEdge`, `toHttpError` (./openai-route-edge.ts, ./openai-errors.ts): OpenAI's error envelope, which
 *   the OpenAI-shaped edges (chat, models, embeddings, responses) and the fallback for other routes share.
 *
 * Adding an edge means writing only these files in its own folder `src/<edge>/` (src/messages/ is one):
 * 1. `request-schema.ts` + `to-canonical.ts`: zod schema of the wire request, decoded into the canonical
 *    ChatRequest (src/core/types.ts);
 * 2. `from-canonical.ts` (+ `sse-encoder.ts`): the whole answer, and a batch encoder for streams (SSE events via
 *    ./sse.ts, with `event:` lines where the protocol names its events, or RPC envelopes);
 * 3. `errors.ts`: ProxyError → the protocol's error shape (status, headers, body), its `writeError`;
 * 4. `plugin.ts`: a Fastify plugin that calls `declareEdge(app, { api, modelCall, rpc, writeError })`, then per
 *    route: over JSON and SSE, `modelCallHandler` with the edge's decode and encoders; otherwise
 *    `CallAborts.watch`, `callOptionsOf`, the core (`complete` / `openStream`), `stampAnswer` /
 *    `stampStreamStart`, and for streams `pumpStream` + its ending, `endFailedStream` and `logFailure` on failure;
 * 5. its registration in src/server.ts (one `app.register` beside the other edges), and tests driving it through
 *    the protocol's official client.
 * Keys, limits, metrics (labelled by the declared `api`), the access line, tracing and request ids come with it.
 */
export {
  type AbortCause,
  CallAbort,
  CallAborts,
  type ClosingResponse,
  callDeadlineError,
  clientGoneError,
} from "./call-abort.ts";
export { callOptionsOf, type EdgeRequest } from "./call-options.ts";
export { errorStatusOf, retryHeadersOf } from "./error-status.ts";
export { logFailure, logLevelFor, recordFailure } from "./failure-log.ts";
export { type DecodedCall, type ModelCallEdge, modelCallHandler, type SseCallEncoder } from "./model-call.ts";
export {
  type HeaderTarget,
  OVERHEAD_HEADER,
  stampAnswer,
  stampCompletion,
  stampFirstByte,
  stampStreamStart,
} from "./overhead.ts";
export {
  type Batch,
  type BatchEncoder,
  endFailedStream,
  pumpBatches,
  pumpStream,
  type StreamSink,
  writeOrWait,
} from "./pump.ts";
export { requestModel } from "./request-model.ts";
export { replyHeaders } from "./response-headers.ts";
export { declareEdge, type EdgeResolver, edgeOf, edgeResolver, type RouteEdge } from "./route-edge.ts";
export { type SseResponse, sseDataBatches, sseEvent, startSse } from "./sse.ts";
