/**
 * The overhead header (the gateway's own share of the latency, src/telemetry/request-record.ts) as an edge sets it:
 * stamped when a stream is about to send its first byte, or when a whole answer is about to be sent.
 */
import type { RequestRecord } from "../telemetry/request-record.ts";
import { OVERHEAD_HEADER, stampCompletion, stampFirstByte } from "../telemetry/request-record.ts";

export { OVERHEAD_HEADER, stampCompletion, stampFirstByte };

/** Anything a response header can be set on: a Fastify reply (`header`), or Connect's `Headers` (`set`). */
export type HeaderTarget =
  | { header(name: string, value: string): unknown }
  | { set(name: string, value: string): unknown };

/** A stream starts: stamps the record's first byte and sets the header (when the request reached an upstream). */
export function stampStreamStart(target: HeaderTarget, record: RequestRecord | null | undefined): void {
  setOverhead(target, stampFirstByte(record));
}

/** A whole answer is about to be sent: sets the header (when the request reached an upstream). */
export function stampAnswer(target: HeaderTarget, record: RequestRecord | null | undefined): void {
  setOverhead(target, stampCompletion(record));
}

function setOverhead(target: HeaderTarget, milliseconds: string | undefined): void {
  if (milliseconds === undefined) return;
  if ("header" in target) target.header(OVERHEAD_HEADER, milliseconds);
  else target.set(OVERHEAD_HEADER, milliseconds);
}
