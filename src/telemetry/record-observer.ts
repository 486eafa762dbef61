/**
 * The core's lifecycle (src/core/observer.ts) as the access line and the metrics need it. Both report a request
 * once, when its response is over, together with what only the edge knows (status, first byte, gRPC code); so
 * this observer writes the core's part into the request's record (./request-record.ts), which they read then.
 */
import type { ProxyError } from "../core/errors.ts";
import type { AttemptStart, RequestObserver, RequestStart } from "../core/observer.ts";
import type { FinishReason, Usage } from "../core/types.ts";
import type { RequestRecord } from "./request-record.ts";

export class RecordObserver implements RequestObserver {
  readonly #record: RequestRecord;
  #requestModel: string | undefined;
  /** A fallback happened since the last attempt: the next one counts as a fallback, not a retry. */
  #fallingBack = false;
  #ended = false;

  constructor(record: RequestRecord) {
    this.#record = record;
  }

  requestStarted(start: RequestStart): void {
    this.#record.stream = start.stream;
    this.#requestModel = start.request.model;
  }

  fallback(): void {
    this.#fallingBack = true;
  }

  attemptStarted(attempt: AttemptStart): void {
    const record = this.#record;
    // Set once an attempt is made, so that an unknown model never becomes a metrics label.
    record.model ??= this.#requestModel;
    record.attempts += 1;
    if (this.#fallingBack) record.fallbacks += 1;
    else if (record.attempts > 1) record.retries += 1;
    this.#fallingBack = false;
    record.provider = attempt.provider;
    record.upstreamModel = attempt.upstreamModel;
    record.upstreamStartedAt ??= performance.now();
  }

  attemptFailed(error: ProxyError): void {
    this.#record.attemptOutcomes.push({ provider: this.#record.provider ?? "", outcome: error.kind });
  }

  firstChunk(): void {
    this.#record.firstChunkAt = performance.now();
  }

  choiceFinished(reason: FinishReason): void {
    this.#record.finishReasons.push(reason);
  }

  usage(usage: Usage): void {
    this.#record.inputTokens = usage.promptTokens;
    this.#record.outputTokens = usage.completionTokens;
  }

  finished(failure: ProxyError | undefined, served: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    const record = this.#record;
    if (failure !== undefined) record.errorKind ??= failure.kind;
    if (!served) return;
    record.upstreamEndedAt = performance.now();
    record.attemptOutcomes.push({ provider: record.provider ?? "", outcome: failure?.kind ?? "ok" });
  }
}
