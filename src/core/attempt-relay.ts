/**
 * The rest of an opened attempt, relayed batch by batch to the edge: further response-starts are dropped, usage
 * is held back so exactly one usage chunk comes last, the stream-idle timer is re-armed before each upstream read
 * (per network read, not per chunk), and anything thrown becomes a ProxyError. Ending, failing or `return()`-ing
 * it (even before the first `next()`) aborts the upstream request if still open, releases every timer and tells
 * the request's observer it finished, exactly once.
 *
 * A plain iterator whose reads are `then` callbacks rather than an async generator: a suspended generator keeps
 * its frame, a queued request and their promises for every open stream, and costs turns of the microtask queue
 * on every read.
 */
import type { DeploymentHealth } from "../routing/deployment-health.ts";
import type { Deadline } from "./deadline.ts";
import { failureOf } from "./deadline.ts";
import { ProxyError } from "./errors.ts";
import { blamesDeployment } from "./failure-policy.ts";
import { ITERATOR_DONE } from "./iterator-done.ts";
import type { RequestObserver } from "./observer.ts";
import type { ChatChunk } from "./types.ts";
import { estimatedUsage } from "./usage-estimate.ts";

type Batch = readonly ChatChunk[];
type Usage = Extract<ChatChunk, { type: "usage" }>;

/** What the relay needs to end the request: not the request itself (its prompt would live as long as the answer). */
export interface RequestEnd {
  readonly clientSignal: AbortSignal;
  /** The request's deadline (client signal + total budget); disposed when the relay ends. */
  readonly requestDeadline: Deadline;
  /** Told the request finished when the relay ends. */
  readonly observer: RequestObserver;
  /** The request's prompt tokens as the gateway estimates them, reported if the vendor's usage never comes. */
  readonly promptTokensEstimate: number;
}

/** The attempt's own context. */
export interface RelaySettings {
  readonly health: DeploymentHealth;
  readonly deploymentKey: string;
  readonly streamIdleTimeoutMs: number;
  readonly now: () => number;
}

export class AttemptRelay implements AsyncIterableIterator<Batch> {
  readonly #settings: RelaySettings;
  readonly #upstream: AsyncIterator<Batch>;
  readonly #end: RequestEnd;
  /** The attempt's deadline: the idle timer, and the abort of the upstream request. */
  readonly #deadline: Deadline;
  /** The first batch (read by openAttempt), until the first `next()`. */
  #head: Batch | undefined;
  #usage: Usage | undefined;
  /** Characters of output forwarded (text, reasoning, refusal, tool calls): the usage estimate's output. */
  #streamedChars = 0;
  #started = false;
  /** streaming: more may come from upstream; ended: released, only the held usage is left; done: nothing left. */
  #phase: "streaming" | "ended" | "done" = "streaming";
  readonly #onBatch = (next: IteratorResult<Batch>) => this.#afterRead(next);
  readonly #onReadError = (error: unknown) => this.#fail(error);
  readonly #idleError = (): ProxyError => {
    const seconds = Math.round(this.#settings.streamIdleTimeoutMs / 100) / 10;
    return new ProxyError("timeout", `The upstream stream was idle for ${seconds} s.`);
  };

  constructor(
    settings: RelaySettings,
    upstream: AsyncIterator<Batch>,
    head: Batch,
    end: RequestEnd,
    deadline: Deadline,
  ) {
    this.#settings = settings;
    this.#upstream = upstream;
    this.#head = head;
    this.#end = end;
    this.#deadline = deadline;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Batch>> {
    this.#started = true;
    if (this.#phase === "ended") return Promise.resolve(this.#takeUsage());
    if (this.#phase === "done") return Promise.resolve(ITERATOR_DONE);
    const head = this.#head;
    if (head !== undefined) {
      this.#head = undefined;
      const out = this.#forwardable(head);
      if (out.length > 0) return Promise.resolve({ done: false, value: out });
    }
    return this.#read();
  }

  /** The edge stopped reading: aborts the upstream request (if still open) and ends the request as cancelled. */
  async return(): Promise<IteratorResult<Batch>> {
    if (this.#phase === "streaming") {
      const when = this.#started ? "before it ended" : "before it was read";
      await this.#release(new ProxyError("cancelled", `The stream was closed ${when}.`));
    }
    this.#phase = "done";
    return ITERATOR_DONE;
  }

  #read(): Promise<IteratorResult<Batch>> {
    this.#deadline.arm(this.#settings.streamIdleTimeoutMs, this.#idleError);
    return this.#upstream.next().then(this.#onBatch, this.#onReadError);
  }

  #afterRead(next: IteratorResult<Batch>): IteratorResult<Batch> | Promise<IteratorResult<Batch>> {
    if (this.#phase !== "streaming") return ITERATOR_DONE;
    if (next.done === true) {
      this.#phase = "ended";
      this.#endRequest(undefined);
      return this.#takeUsage();
    }
    const out = this.#forwardable(next.value);
    return out.length > 0 ? { done: false, value: out } : this.#read();
  }

  async #fail(error: unknown): Promise<never> {
    const end = this.#end;
    const failure = failureOf(error, end.clientSignal, this.#deadline.signal);
    // A read that fails after the relay was closed only reports the closing: it says nothing of the deployment.
    if (this.#phase === "streaming") {
      if (blamesDeployment(failure))
        this.#settings.health.recordFailure(this.#settings.deploymentKey, this.#settings.now());
      await this.#release(failure);
    }
    throw failure;
  }

  /** Aborts the attempt (and with it the upstream request), closes the adapter's stream, ends the request. */
  async #release(failure: ProxyError): Promise<void> {
    this.#phase = "done";
    this.#deadline.abort(
      failure.kind === "cancelled"
        ? failure
        : new ProxyError("cancelled", "The stream was closed before it ended."),
    );
    try {
      await this.#upstream.return?.();
    } catch {
      // The adapter's own cleanup failing must not hide the error being reported.
    }
    this.#endRequest(failure);
  }

  #endRequest(failure: ProxyError | undefined): void {
    this.#deadline.dispose();
    this.#end.requestDeadline.dispose();
    const end = this.#end;
    // No stream goes unbilled: without the vendor's usage, the estimate of what the call used.
    if (this.#usage !== undefined) end.observer.usage(this.#usage.usage);
    else end.observer.usage(estimatedUsage(end.promptTokensEstimate, this.#streamedChars), true);
    end.observer.finished(failure, true);
  }

  #takeUsage(): IteratorResult<Batch> {
    this.#phase = "done";
    const usage = this.#usage;
    return usage === undefined ? ITERATOR_DONE : { done: false, value: [usage] };
  }

  /**
   * The batch without response-starts and usage (held), noting finishes; the batch itself if clean. Counts the
   * output characters on the way (one pass over chunks already in hand).
   */
  #forwardable(batch: Batch): Batch {
    let clean = true;
    let chars = 0;
    for (const chunk of batch) {
      const type = chunk.type;
      if (type === "text-delta" || type === "reasoning-delta" || type === "refusal-delta")
        chars += chunk.text.length;
      else if (type === "tool-call-delta") chars += chunk.arguments.length;
      else if (type === "tool-call-start") chars += chunk.name.length;
      else if (type === "usage" || type === "response-start" || type === "finish") clean = false;
    }
    this.#streamedChars += chars;
    if (clean) return batch;
    const out: ChatChunk[] = [];
    for (const chunk of batch) {
      if (chunk.type === "usage") this.#usage = chunk;
      else if (chunk.type !== "response-start") {
        if (chunk.type === "finish") this.#end.observer.choiceFinished(chunk.reason);
        out.push(chunk);
      }
    }
    return out;
  }
}
