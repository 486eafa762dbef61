/**
 * The overhead header (the gateway's own share of the latency, src/telemetry/request-record.ts) as an edge sets it:
 * stamped when a stream is about to send its first byte, or when a whole answer is about to be sent, which also
 * carries its cost.
 */
import { formatUsd } from "../governance/cost.ts";
import type { RequestRecord } from "../telemetry/request-record.ts";
import { OVERHEAD_HEADER, stampCompletion, stampFirstByte } from "../telemetry/request-record.ts";

export { OVERHEAD_HEADER, stampCompletion, stampFirstByte };

/** The USD cost of a whole answer, from its usage and `prices:` (src/governance/cost.ts). */
export const COST_HEADER = "x-llm-proxy-cost-usd";

/** Anything a response header can be set on: a Fastify reply (`header`), or Connect's `Headers` (`set`). */
export type HeaderTarget =
  | { header(name: string, value: string): unknown }
  | { set(name: string, value: string): unknown };

/** A stream starts: stamps the record's first byte and sets the header (when the request reached an upstream). */
export function stampStreamStart(target: HeaderTarget, record: RequestRecord | null | undefined): void {
  setOverhead(target, stampFirstByte(record));
}

/**
 * A whole answer is about to be sent: sets the overhead header (when the request reached an upstream) and the
 * cost header (when its model has a price; a stream's cost is known only after its headers, so it has none).
 */
export function stampAnswer(target: HeaderTarget, record: RequestRecord | null | undefined): void {
  setHeader(target, OVERHEAD_HEADER, stampCompletion(record));
  const cost = record?.costUsd;
  if (cost !== undefined) setHeader(target, COST_HEADER, formatUsd(cost));
}

function setOverhead(target: HeaderTarget, milliseconds: string | undefined): void {
  setHeader(target, OVERHEAD_HEADER, milliseconds);
}

function setHeader(target: HeaderTarget, name: string, value: string | undefined): void {
  if (value === undefined) return;
  if ("header" in target) target.header(name, value);
  else target.set(name, value);
}
