/**
 * The core's lifecycle (src/core/observer.ts) as the access line and the metrics need it. Both report a request
 * once, when its response is over, together with what only the edge knows (status, first byte, gRPC code); so
 * this observer writes the core's part into the request's record (./request-record.ts), which they read then.
 */
import type { ProxyError } from "../core/errors.ts";
import type { AttemptStart, RequestObserver, RequestStart } from "../core/observer.ts";
import type { FinishReason, Usage } from "../core/types.ts";
import { costOf } from "../governance/cost.ts";
import { priceOf } from "../governance/prices.ts";
import type { RequestRecord } from "./request-record.ts";

export class RecordObserver implements RequestObserver {
  readonly #record: RequestRecord;
  #requestModel: string | undefined;
  /** The public model whose deployments serve the request (a fallback's, after one): the one it is priced at. */
  #servingModel: string | undefined;
  /** A fallback happened since the last attempt: the next one counts as a fallback, not a retry. */
  #fallingBack = false;
  #ended = false;

  constructor(record: RequestRecord) {
    this.#record = record;
  }

  requestStarted(start: RequestStart): void {
    this.#record.stream = start.stream;
    this.#record.coreBusy = true;
    this.#requestModel = start.request.model;
    this.#servingModel = start.request.model;
  }

  fallback(_from: string, to: string): void {
    this.#fallingBack = true;
    this.#servingModel = to;
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

  usage(usage: Usage, estimated = false): void {
    const record = this.#record;
    record.inputTokens = usage.promptTokens;
    record.outputTokens = usage.completionTokens;
    record.cachedTokens = usage.cachedTokens;
    record.usageEstimated = estimated;
    // Here, so that a whole answer's cost header, the access line and the spend log all read the same number.
    record.costUsd = costOf(priceOf(record.prices, this.#servingModel), usage);
  }

  finished(failure: ProxyError | undefined, served: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    const record = this.#record;
    record.coreBusy = false;
    if (failure !== undefined) record.errorKind ??= failure.kind;
    if (served) {
      record.upstreamEndedAt = performance.now();
      record.attemptOutcomes.push({ provider: record.provider ?? "", outcome: failure?.kind ?? "ok" });
    }
    const after = record.afterCore;
    if (after !== undefined) {
      record.afterCore = undefined;
      after();
    }
  }
}
